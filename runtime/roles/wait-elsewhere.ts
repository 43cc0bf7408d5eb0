import type { Bus } from '../bus/types.js';
import { isFinished, type JobRecord, type Store } from '../drp/types.js';
import { WfeError } from '../errors.js';
import type { JobEvent } from '../nats/events.js';

/**
 * Waits for a job that runs in another process: listens for its events
 * first, then reads the store, so that an end between the two is not
 * missed.
 */
export function waitElsewhere(
  bus: Bus,
  store: Store,
  id: string,
): Promise<JobRecord> {
  return new Promise((resolve, reject) => {
    let stored: JobRecord | null = null;
    let ended: JobEvent | null = null;

    const settle = () => {
      if (!stored || !ended) return;
      subscription.unsubscribe();
      resolve({ ...ended, params: stored.params });
    };

    const subscription = bus.subscribe(`wfe.jobs.${id}.*`, (message) => {
      const event = message as JobEvent;
      if (!isFinished(event.status)) return;
      ended = event;
      settle();
    });

    store.getJob(id).then(
      (job) => {
        if (!job) {
          subscription.unsubscribe();
          reject(new WfeError('NOT_FOUND', `no job ${id}`));
          return;
        }
        stored = job;
        if (isFinished(job.status)) {
          subscription.unsubscribe();
          resolve(job);
          return;
        }
        settle();
      },
      (err: unknown) => {
        subscription.unsubscribe();
        reject(err as Error);
      },
    );
  });
}
