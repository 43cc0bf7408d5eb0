import { WfeError, type ErrorInfo } from '../errors.js';
import type { JobQuery, LogQuery } from './types.js';
import { isKnownStatus } from './write-checks.js';

/**
 * Checks of read queries, shared by every store so that a bad query is
 * refused the same way (BAD_QUERY naming the field) whichever store
 * answers it.
 */

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** Limits default to 100; anything above 1000 is cut to 1000. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new WfeError('BAD_QUERY', `limit must be a positive integer`, {
      details: { limit },
    });
  }
  return Math.min(limit, MAX_LIMIT);
}

export function checkJobQuery(query: JobQuery): void {
  if (query.status !== undefined && !isKnownStatus(query.status)) {
    throw new WfeError('BAD_QUERY', `unknown job status ${query.status}`);
  }
}

/** The log position to read after, 0 when absent. */
export function afterSeqOf(query: LogQuery): number {
  const afterSeq = query.afterSeq ?? 0;
  if (!Number.isInteger(afterSeq)) {
    throw new WfeError('BAD_QUERY', `afterSeq must be an integer`);
  }
  return afterSeq;
}

export function checkIdempotencyKeyQuery(key: unknown): void {
  if (typeof key !== 'string') {
    throw new WfeError('BAD_QUERY', 'an idempotency key must be a string');
  }
}

/** A refused write's outcome error. */
export function failure(
  code: string,
  message: string,
  details: unknown,
): ErrorInfo {
  return { code, message, retryable: false, details };
}
