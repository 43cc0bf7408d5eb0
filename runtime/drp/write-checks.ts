import { WfeError, type ErrorInfo } from '../errors.js';
import {
  JOB_STATUSES,
  type JobLogEntry,
  type JobRecord,
  type Write,
} from './types.js';

/**
 * Checks of what a store is asked to write, shared by every store so
 * that a malformed write fails the same way, with BAD_WRITE naming the
 * item and the field, whichever store is behind the writer.
 */

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);
const STATUSES = new Set<string>(JOB_STATUSES);
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export function checkJob(job: JobRecord): void {
  if (!isPlainObject(job)) throw badWrite('job must be an object');
  checkString(job.id, 'job id');
  const what = `job ${job.id}`;
  checkString(job.rootId, `${what} rootId`);
  checkString(job.action, `${what} action`);
  checkOptionalString(job.parentId, `${what} parentId`);
  checkOptionalString(job.target, `${what} target`);
  checkOptionalString(job.owner, `${what} owner`);
  checkIdempotencyKey(job.idempotencyKey, what);
  if (!isKnownStatus(job.status)) {
    throw badWrite(`${what} has unknown status ${String(job.status)}`);
  }
  if (!isPlainObject(job.params)) {
    throw badWrite(`${what} params must be an object`);
  }
  if (job.error !== null && !isPlainObject(job.error)) {
    throw badWrite(`${what} error must be an object or null`);
  }
  checkNumber(job.createdAt, `${what} createdAt`);
  checkOptionalNumber(job.maxDurationMs, `${what} maxDurationMs`);
  checkOptionalNumber(job.startedAt, `${what} startedAt`);
  checkOptionalNumber(job.endedAt, `${what} endedAt`);
}

/** Checks an object save's fields, all but how its data is encoded. */
export function checkObjectSave(
  write: Extract<Write, { kind: 'object.save' }>,
): void {
  const { guid, type, expectedVersion, at } = write;
  checkString(guid, 'object guid');
  checkString(type, `object ${guid} type`);
  checkVersion(expectedVersion, guid);
  checkNumber(at, `object ${guid} at`);
  if (!isPlainObject(write.data)) {
    throw badWrite(`object ${guid} data must be an object`);
  }
}

function checkIdempotencyKey(key: unknown, what: string): void {
  if (key === null) return;
  checkString(key, `${what} idempotencyKey`);
  if ((key as string).length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw badWrite(
      `${what} idempotencyKey is longer than ` +
        `${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
}

/** Checks one log entry and returns its data as JSON, or null if absent. */
export function checkLogEntry(entry: JobLogEntry): string | null {
  if (!isPlainObject(entry)) throw badWrite('log entry must be an object');
  checkString(entry.jobId, 'log entry jobId');
  const what = `log entry ${entry.jobId}#${String(entry.seq)}`;
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 1) {
    throw badWrite(`${what} seq must be an integer from 1`);
  }
  checkNumber(entry.at, `${what} at`);
  if (!LOG_LEVELS.has(entry.level)) {
    throw badWrite(`${what} has unknown level ${String(entry.level)}`);
  }
  if (typeof entry.message !== 'string') {
    throw badWrite(`${what} message must be a string`);
  }
  return entry.data === undefined ? null : toJson(entry.data, `${what} data`);
}

export function checkString(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') {
    throw badWrite(`${what} must be a non-empty string`);
  }
}

export function checkOptionalString(value: unknown, what: string): void {
  if (value !== null && typeof value !== 'string') {
    throw badWrite(`${what} must be a string or null`);
  }
}

export function checkNumber(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badWrite(`${what} must be a finite number`);
  }
}

export function checkOptionalNumber(value: unknown, what: string): void {
  if (value !== null) checkNumber(value, what);
}

export function checkVersion(version: unknown, guid: string): void {
  if (!Number.isSafeInteger(version) || (version as number) < 0) {
    throw badWrite(`object ${guid} expectedVersion must be an integer >= 0`);
  }
}

export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // Cycles and BigInt land here; the engine's message says which.
    const reason = err instanceof Error ? err.message : String(err);
    throw badWrite(`${what} cannot be stored as JSON: ${reason}`);
  }
  if (json === undefined) {
    throw badWrite(`${what} cannot be stored as JSON: ${typeof value}`);
  }
  return json;
}

export function badWrite(message: string): WfeError {
  return new WfeError('BAD_WRITE', message);
}

export function isKnownStatus(status: unknown): boolean {
  return STATUSES.has(status as string);
}

/** What a store found under a guid when a versioned write missed. */
export interface FoundObject {
  type: string;
  version: number;
}

/**
 * Why a versioned save or delete of `guid` cannot apply: NOT_FOUND,
 * BAD_WRITE for a save as another type, or CONFLICT for a stale version.
 */
export function versionMismatch(
  guid: string,
  expected: number,
  found: FoundObject | null,
  type?: string,
): ErrorInfo {
  const actual = found?.version ?? null;
  const details = { guid, expectedVersion: expected, actualVersion: actual };
  const refuse = (code: string, message: string): ErrorInfo => ({
    code,
    message,
    retryable: false,
    details,
  });

  if (!found) {
    return refuse(
      'NOT_FOUND',
      `object ${guid} not found (expected version ${expected})`,
    );
  }
  if (type !== undefined && found.type !== type) {
    return refuse(
      'BAD_WRITE',
      `object ${guid} is a ${found.type}, not a ${type}`,
    );
  }
  return refuse(
    'CONFLICT',
    `object ${guid} is at version ${actual}, expected ${expected}`,
  );
}
