import {
  MongoError,
  MongoNetworkError,
  MongoServerSelectionError,
} from 'mongodb';

import { WfeError } from '../errors.js';

/**
 * Which MongoDB failures are worth trying again. A lost connection, no
 * reachable server, or a primary stepping down pass with time; a refused
 * document or a denied user do not.
 */

/** Server codes of failures that pass on their own. */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

export const DUPLICATE_KEY = 11000;

export function isTransient(err: unknown): boolean {
  if (err instanceof MongoNetworkError) return true;
  if (err instanceof MongoServerSelectionError) return true;
  if (!(err instanceof MongoError)) return false;
  if (err.hasErrorLabel('RetryableWriteError')) return true;
  if (err.hasErrorLabel('TransientTransactionError')) return true;
  return typeof err.code === 'number' && TRANSIENT_CODES.has(err.code);
}

export function isTransientCode(code: unknown): boolean {
  return typeof code === 'number' && TRANSIENT_CODES.has(code);
}

/** A MongoDB failure as a store error; transient ones are retryable. */
export function mongoStoreError(action: string, err: unknown): WfeError {
  if (err instanceof WfeError) return err;
  const transient = isTransient(err);
  const reason = err instanceof Error ? err.message : String(err);
  const code = transient ? 'STORE_UNAVAILABLE' : 'STORE_ERROR';
  return new WfeError(code, `MongoDB ${action} failed: ${reason}`, {
    retryable: transient,
    details: { mongoCode: (err as { code?: unknown } | null)?.code },
    cause: err,
  });
}
