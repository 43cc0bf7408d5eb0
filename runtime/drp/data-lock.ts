import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WfeError } from '../errors.js';

/**
 * An exclusive claim on an engine's data folder: two engines writing one
 * embedded store would corrupt each other's view of it.
 */
export interface DataLock {
  /** The lock file, `<dir>/wfe.lock`. */
  readonly path: string;
  /** Set when a stale lock of this (dead) process id was taken over. */
  readonly tookOverFrom?: number;
  /** The engine process id (owner) of that stale lock, when it named one. */
  readonly previousOwner?: string;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): void;
}

interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: number;
  /** The engine process's owner id, as recorded on its jobs. */
  owner?: string;
}

export const DATA_LOCK_FILE = 'wfe.lock';

/**
 * Locks `dir` (creating it if missing) for this process. A lock left by a
 * process that is no longer running on this host, or a lock file that
 * cannot be read, is taken over; a live holder makes it throw
 * DATA_DIR_LOCKED.
 */
export function acquireDataLock(dir: string, owner?: string): DataLock {
  const path = join(dir, DATA_LOCK_FILE);
  const mine: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: Date.now(),
    owner,
  };
  const text = JSON.stringify(mine);
  let tookOverFrom: number | undefined;
  let previousOwner: string | undefined;

  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw lockError(`cannot create data folder ${dir}`, dir, err);
  }

  // Two rounds: the second follows the removal of a stale lock. Losing
  // that race to another engine ends in DATA_DIR_LOCKED, as it should.
  for (let round = 0; round < 2; round++) {
    if (createExclusive(path, text, dir)) {
      return ownLock(path, text, tookOverFrom, previousOwner);
    }

    const found = readLock(path);
    const holder = found === undefined ? undefined : parseHolder(found);
    if (holder && isHeld(holder)) throw lockedError(dir, path, holder);

    tookOverFrom = holder?.pid;
    previousOwner =
      typeof holder?.owner === 'string' ? holder.owner : undefined;
    removeIfUnchanged(path, found);
  }
  throw lockError(`cannot lock data folder ${dir}`, dir);
}

/** True if this call created the file; false if it already existed. */
function createExclusive(path: string, text: string, dir: string): boolean {
  try {
    writeFileSync(path, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw lockError(`cannot write lock file ${path}`, dir, err);
  }
}

function ownLock(
  path: string,
  text: string,
  tookOverFrom: number | undefined,
  previousOwner: string | undefined,
): DataLock {
  const release = () => removeIfUnchanged(path, text);
  if (tookOverFrom === undefined) return { path, release };
  return previousOwner === undefined
    ? { path, tookOverFrom, release }
    : { path, tookOverFrom, previousOwner, release };
}

/** The lock file's text, or undefined if there is none (or no access). */
function readLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(text) as Partial<LockHolder> | null;
    const { pid, hostname: host } = holder ?? {};
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return undefined;
    if (typeof host !== 'string') return undefined;
    return holder as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * A holder on another host cannot be checked from here, so its lock is
 * respected; one on this host holds the lock while its process lives.
 */
function isHeld(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(err) === 'EPERM';
  }
}

/**
 * Removes the lock file only if it still holds `expected`, so that a
 * release or takeover never deletes a lock another engine has just made.
 */
function removeIfUnchanged(path: string, expected: string | undefined): void {
  if (readLock(path) !== expected) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or not ours to remove: the next create decides.
  }
}

function lockedError(dir: string, path: string, holder: LockHolder): WfeError {
  const where =
    holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`;
  return new WfeError(
    'DATA_DIR_LOCKED',
    `data folder ${dir} is in use by the wfe engine with pid ` +
      `${holder.pid}${where}; stop that engine or use another --data ` +
      `folder (if that engine is gone, remove ${path})`,
    { details: { dir, lockFile: path, ...holder } },
  );
}

function lockError(message: string, dir: string, cause?: unknown): WfeError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new WfeError('DATA_DIR_ERROR', `${message}${reason}`, {
    details: { dir },
    cause,
  });
}

function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}
