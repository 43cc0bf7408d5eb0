import { WfeError } from '../errors.js';
import type { JobRunner } from '../jobs/runner.js';

/**
 * Waits for a child job and hands its result to the calling tasklet, or
 * throws its error with the child's identity added.
 */
export async function waitResult(
  runner: JobRunner,
  id: string,
): Promise<unknown> {
  const final = await runner.wait(id);
  if (final.status === 'done') return final.result;

  const error = final.error!;
  throw new WfeError(error.code, error.message, {
    retryable: error.retryable,
    details: {
      jobId: final.id,
      action: final.action,
      ...asObject(error.details),
    },
    cause: error.cause && WfeError.fromInfo(error.cause),
  });
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : {};
}
