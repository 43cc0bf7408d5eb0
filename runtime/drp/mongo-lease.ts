import { hostname } from 'node:os';

import type { Collection } from 'mongodb';

import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { DUPLICATE_KEY } from './mongo-errors.js';

/**
 * The claim of one writer process on a MongoDB DRP. The DRP has a single
 * writer: two would each believe their view of versions and of running
 * jobs, and the reaper of one would mark the other's jobs interrupted.
 *
 * The lease is one document, created with a plain insert, which the
 * unique `_id` makes atomic on MongoDB and FerretDB alike. Its holder
 * renews it; a lease not renewed for `ttlMs` belongs to a process that
 * is gone and is taken over. Expiry is judged by the clocks of the
 * writers' hosts, so those must agree to within a few seconds (NTP).
 */

export interface LeaseDoc {
  _id: string;
  owner: string;
  pid: number;
  host: string;
  since: number;
  expiresAt: number;
}

export interface LeaseOptions {
  /** The engine process's owner id, as recorded on its jobs. */
  owner: string;
  /** @default 15000 */
  ttlMs?: number;
  logger: Logger;
  /** Called once if another writer took the lease over. */
  onLost(reason: string): void;
}

export interface Lease {
  /** The writer whose expired lease this one replaced, if any. */
  readonly previousOwner?: string;
  release(): Promise<void>;
}

const LEASE_ID = 'writer';

export async function acquireLease(
  meta: Collection<LeaseDoc>,
  display: string,
  options: LeaseOptions,
): Promise<Lease> {
  const ttlMs = options.ttlMs ?? 15_000;
  const mine = (): LeaseDoc => ({
    _id: LEASE_ID,
    owner: options.owner,
    pid: process.pid,
    host: hostname(),
    since: Date.now(),
    expiresAt: Date.now() + ttlMs,
  });

  let previousOwner: string | undefined;
  if (!(await tryInsert(meta, mine()))) {
    const holder = await meta.findOne({ _id: LEASE_ID });
    if (holder && holder.expiresAt > Date.now()) {
      throw lockedError(display, holder);
    }
    // Expired: remove exactly that lease, then race for a new one.
    if (holder) {
      await meta.deleteOne({ _id: LEASE_ID, owner: holder.owner });
      previousOwner = holder.owner;
    }
    if (!(await tryInsert(meta, mine()))) {
      const winner = await meta.findOne({ _id: LEASE_ID });
      throw lockedError(display, winner ?? mine());
    }
  }

  return holdLease(meta, options, ttlMs, previousOwner);
}

function holdLease(
  meta: Collection<LeaseDoc>,
  options: LeaseOptions,
  ttlMs: number,
  previousOwner: string | undefined,
): Lease {
  const { owner, logger } = options;
  let lost = false;

  const renew = async () => {
    try {
      const renewed = await meta.updateOne(
        { _id: LEASE_ID, owner },
        { $set: { expiresAt: Date.now() + ttlMs } },
      );
      if (renewed.matchedCount === 0 && !lost) {
        lost = true;
        clearInterval(timer);
        options.onLost('another writer took over the lease');
      }
    } catch (err) {
      // The next renewal tries again; until it expires the lease holds.
      logger.warn({ err }, 'could not renew the DRP writer lease');
    }
  };
  const timer = setInterval(() => void renew(), Math.max(ttlMs / 3, 10));
  timer.unref();

  return {
    previousOwner,
    release: async () => {
      clearInterval(timer);
      if (lost) return;
      await meta.deleteOne({ _id: LEASE_ID, owner }).catch((err: unknown) => {
        logger.warn({ err }, 'could not release the DRP writer lease');
      });
    },
  };
}

async function tryInsert(
  meta: Collection<LeaseDoc>,
  doc: LeaseDoc,
): Promise<boolean> {
  try {
    await meta.insertOne(doc);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === DUPLICATE_KEY) return false;
    throw err;
  }
}

function lockedError(display: string, holder: LeaseDoc): WfeError {
  const seconds = Math.max(0, Math.ceil((holder.expiresAt - Date.now()) / 1e3));
  return new WfeError(
    'DRP_LOCKED',
    `the DRP at ${display} has a writer already: engine ${holder.owner} ` +
      `(pid ${holder.pid} on ${holder.host}). Stop it first; if it is ` +
      `gone, its lease runs out in ${seconds} s`,
    {
      details: { owner: holder.owner, pid: holder.pid, host: holder.host },
    },
  );
}
