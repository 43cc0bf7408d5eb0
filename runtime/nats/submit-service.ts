import type { Bus, BusSubscription } from '../bus/types.js';
import type { JobRecord } from '../drp/types.js';
import { WfeError } from '../errors.js';
import { describe, isPlainObject } from '../jobs/submission.js';
import { SUBJECTS } from './subjects.js';

export interface SubmitServiceOptions {
  submit(submission: unknown): Promise<JobRecord>;
  wait(id: string): Promise<JobRecord>;
  /** Larger requests are refused unread. */
  maxBytes: number;
  /** Workers of one deployment share the requests. */
  queue: string;
}

/** The answer to a submission: the job, and how it ended with `wait`. */
export interface SubmitReply {
  jobId: string;
  status: JobRecord['status'];
  result?: unknown;
  error?: JobRecord['error'];
}

/**
 * Serves `wfe.submit`. The job is durable before the answer; with
 * `wait: true` the answer comes when the job has ended.
 */
export function serveSubmissions(
  bus: Bus,
  options: SubmitServiceOptions,
): BusSubscription {
  return bus.serve(
    SUBJECTS.submit,
    async (message): Promise<SubmitReply> => {
      const { wait, ...submission } = isPlainObject(message)
        ? (message as Record<string, unknown>)
        : { wait: false };
      if (wait !== undefined && typeof wait !== 'boolean') {
        throw new WfeError(
          'BAD_INPUT',
          `wait must be true or false, got ${describe(wait)}`,
          { details: { field: 'wait' } },
        );
      }

      const job = await options.submit(
        isPlainObject(message) ? submission : message,
      );
      if (!wait) return { jobId: job.id, status: job.status };

      const final = await options.wait(job.id);
      return final.status === 'done'
        ? { jobId: final.id, status: final.status, result: final.result }
        : { jobId: final.id, status: final.status, error: final.error };
    },
    { queue: options.queue, maxBytes: options.maxBytes },
  );
}
