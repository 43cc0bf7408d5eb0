import { WfeError } from '../errors.js';

/** A request to run an action, from any source. */
export interface Submission {
  action: string;
  params?: unknown;
  target?: unknown;
  maxDurationMs?: unknown;
  idempotencyKey?: unknown;
}

export interface ValidSubmission {
  action: string;
  params: Record<string, unknown>;
  target: string | null;
  maxDurationMs: number | null;
  idempotencyKey: string | null;
}

/** Longest idempotency key accepted; the stores index it. */
export const MAX_IDEMPOTENCY_KEY = 256;

/** Checks a submission's shape; an error names the field and the problem. */
export function validateSubmission(input: unknown): ValidSubmission {
  if (!isPlainObject(input)) {
    throw bad('submission', `must be an object, got ${describe(input)}`);
  }

  const { action, params, target, maxDurationMs, idempotencyKey } =
    input as Submission;

  if (typeof action !== 'string' || action.length === 0) {
    throw bad('action', `must be a non-empty string, got ${describe(action)}`);
  }

  if (params !== undefined && !isPlainObject(params)) {
    throw new WfeError(
      'BAD_PARAMS',
      `params of ${action} must be a JSON object, got ${describe(params)}`,
      { details: { field: 'params' } },
    );
  }

  const validTarget =
    target === undefined ||
    target === null ||
    (typeof target === 'string' && target.length > 0);
  if (!validTarget) {
    throw bad('target', `must be a guid string, got ${describe(target)}`);
  }

  const validDuration =
    maxDurationMs === undefined ||
    maxDurationMs === null ||
    (typeof maxDurationMs === 'number' &&
      Number.isFinite(maxDurationMs) &&
      maxDurationMs > 0);
  if (!validDuration) {
    throw bad(
      'maxDurationMs',
      `must be a positive number of milliseconds, got ${describe(maxDurationMs)}`,
    );
  }

  const validKey =
    idempotencyKey === undefined ||
    idempotencyKey === null ||
    (typeof idempotencyKey === 'string' &&
      idempotencyKey.length > 0 &&
      idempotencyKey.length <= MAX_IDEMPOTENCY_KEY);
  if (!validKey) {
    throw bad(
      'idempotencyKey',
      `must be a string of 1 to ${MAX_IDEMPOTENCY_KEY} characters, ` +
        `got ${describe(idempotencyKey)}`,
    );
  }

  return {
    action,
    params: (params as Record<string, unknown> | undefined) ?? {},
    target: (target as string | null | undefined) ?? null,
    maxDurationMs: (maxDurationMs as number | null | undefined) ?? null,
    idempotencyKey: (idempotencyKey as string | null | undefined) ?? null,
  };
}

export function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${value}`;
}

function bad(field: string, problem: string): WfeError {
  return new WfeError('BAD_INPUT', `${field} ${problem}`, {
    details: { field },
  });
}
