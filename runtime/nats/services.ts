import type { NatsConnection } from 'nats';

import type { Bus, BusSubscription } from '../bus/types.js';
import type { Store } from '../drp/types.js';
import { WfeError } from '../errors.js';
import { isPlainObject } from '../jobs/submission.js';
import type { Logger } from '../log.js';
import type { WorkerRole } from '../roles/worker.js';
import { startIntake, type Intake } from './intake.js';
import { serveQueries } from './query-service.js';
import { SUBJECTS } from './subjects.js';
import { serveSubmissions } from './submit-service.js';

/** Workers of one deployment share submissions and intake. */
const WORKERS = 'wfe-workers';
const READERS = 'wfe-readers';

export interface NatsServicesOptions {
  nc: NatsConnection;
  bus: Bus;
  store: Store;
  worker: WorkerRole | null;
  serveQueries: boolean;
  logger: Logger;
  submitMaxBytes: number;
  intakeInFlight: number;
}

export interface NatsServices {
  /** Stops taking new work: submissions and intake. */
  stopTaking(): Promise<void>;
  close(): Promise<void>;
}

/** What this process answers on NATS, by role. */
export async function startNatsServices(
  options: NatsServicesOptions,
): Promise<NatsServices> {
  const { bus, worker } = options;
  const taking: BusSubscription[] = [];
  const serving: BusSubscription[] = [];
  let intake: Intake | null = null;

  if (options.serveQueries) {
    serving.push(...serveQueries(bus, options.store, READERS));
  }

  if (worker) {
    taking.push(
      serveSubmissions(bus, {
        submit: (submission) => worker.submit(submission),
        wait: (id) => worker.wait(id),
        maxBytes: options.submitMaxBytes,
        queue: WORKERS,
      }),
    );
    serving.push(
      bus.serve(
        SUBJECTS.jobCancel,
        async (message) => {
          const { id, reason } = cancelRequest(message);
          await worker.cancel(id, reason);
          return { jobId: id, status: 'cancelling' };
        },
        { queue: WORKERS },
      ),
    );
    serving.push(
      bus.serve(
        SUBJECTS.workflowEvent,
        async (message) => {
          const { id, type, payload } = eventRequest(message);
          await worker.workflows.sendEvent(id, type, payload);
          return { jobId: id, delivered: type };
        },
        { queue: WORKERS },
      ),
    );
    intake = await startIntake({
      nc: options.nc,
      bus,
      logger: options.logger,
      submit: (submission) => worker.submit(submission),
      wait: (id) => worker.wait(id),
      maxInFlight: options.intakeInFlight,
      maxBytes: options.submitMaxBytes,
    });
  }

  const stopTaking = async (): Promise<void> => {
    for (const subscription of taking.splice(0)) subscription.unsubscribe();
    await intake?.stop();
    intake = null;
  };

  return {
    stopTaking,
    async close() {
      await stopTaking();
      for (const subscription of serving.splice(0)) subscription.unsubscribe();
    },
  };
}

function cancelRequest(message: unknown): { id: string; reason?: string } {
  const { id, reason } = (isPlainObject(message) ? message : {}) as {
    id?: unknown;
    reason?: unknown;
  };
  if (typeof id !== 'string' || id.length === 0) {
    throw new WfeError('BAD_INPUT', 'id must be the job id to cancel', {
      details: { field: 'id' },
    });
  }
  if (reason !== undefined && typeof reason !== 'string') {
    throw new WfeError('BAD_INPUT', 'reason must be a string', {
      details: { field: 'reason' },
    });
  }
  return { id, reason };
}

function eventRequest(message: unknown): {
  id: string;
  type: string;
  payload?: unknown;
} {
  const { id, type, payload } = (isPlainObject(message) ? message : {}) as {
    id?: unknown;
    type?: unknown;
    payload?: unknown;
  };
  if (typeof id !== 'string' || id.length === 0) {
    throw new WfeError('BAD_INPUT', 'id must be the workflow job id', {
      details: { field: 'id' },
    });
  }
  if (typeof type !== 'string' || type.length === 0) {
    throw new WfeError('BAD_INPUT', 'type must name the event', {
      details: { field: 'type' },
    });
  }
  return { id, type, payload };
}
