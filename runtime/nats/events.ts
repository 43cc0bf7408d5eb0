import type { Bus } from '../bus/types.js';
import type { JobLogEntry, JobRecord } from '../drp/types.js';
import type { JobEvents } from '../jobs/runner.js';
import { jobLogSubject, jobStatusSubject } from './subjects.js';

/** A job as events carry it: the record without its params. */
export type JobEvent = Omit<JobRecord, 'params'>;

export function toJobEvent(job: JobRecord): JobEvent {
  const { params: _params, ...event } = job;
  return event;
}

/**
 * Publishes every durable job change on the bus. Publishing never waits
 * for listeners, so a slow one cannot hold up a job.
 */
export function publishJobEvents(bus: Bus): JobEvents {
  return {
    status: (job: JobRecord) =>
      bus.publish(jobStatusSubject(job.id, job.status), toJobEvent(job)),
    log: (entry: JobLogEntry) =>
      bus.publish(jobLogSubject(entry.jobId), {
        jobId: entry.jobId,
        entries: [entry],
      }),
  };
}
