import type { Collection } from 'mongodb';

import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { runAlone, runBulk, type WriteResult } from './mongo-bulk.js';
import { DUPLICATE_KEY, isTransient } from './mongo-errors.js';
import type { ObjectDoc } from './mongo-docs.js';
import type {
  CollectionName,
  Collections,
  ObjectOp,
  PlannedWrite,
} from './mongo-plan.js';
import { failure } from './query-checks.js';
import type { WriteOutcome } from './types.js';
import { versionMismatch } from './write-checks.js';

/**
 * Runs one round of planned writes as unordered bulk writes, one per
 * collection, and settles each write's outcome. A collection whose bulk
 * write fails for a transient reason (a lost connection, a primary
 * stepping down) is run again after a backoff. That is safe because
 * every operation is idempotent: job puts replace, log lines are
 * inserted only when missing, and an object write that already happened
 * is recognised by the write id it stamped on the document.
 */

export interface RetryPolicy {
  /** How long a round keeps retrying before it fails. */
  retryForMs: number;
  logger: Logger;
}

const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2_000;

export async function runRound(
  round: PlannedWrite[],
  collections: Collections,
  outcomes: WriteOutcome[],
  policy: RetryPolicy,
): Promise<void> {
  const deadline = Date.now() + policy.retryForMs;
  let pending = round;

  for (let attempt = 1; ; attempt++) {
    // One collection after another: FerretDB runs short of connections
    // when large update commands overlap.
    const retry: PlannedWrite[] = [];
    for (const [name, writes] of groupByCollection(pending)) {
      retry.push(...(await runCollection(name, writes, collections, outcomes)));
    }
    if (retry.length === 0) return;

    await pause(policy, attempt, deadline, `${retry.length} writes`);
    pending = retry;
  }
}

/** Runs one collection's writes; returns those to run again. */
async function runCollection(
  name: CollectionName,
  writes: PlannedWrite[],
  collections: Collections,
  outcomes: WriteOutcome[],
): Promise<PlannedWrite[]> {
  const collection = collections[name] as unknown as Collection<never>;
  const results = await runBulk(collection, writes);
  const again = writes.filter((w) => results.get(w)!.kind === 'transient');
  const settled = writes.filter((w) => results.get(w)!.kind !== 'transient');

  try {
    switch (name) {
      case 'objects':
        await settleObjects(settled, results, collections, outcomes);
        return again;
      case 'jobs':
        return [
          ...again,
          ...(await settleJobs(settled, results, collections, outcomes)),
        ];
      case 'logs':
        settleLogs(settled, results, outcomes);
        return again;
    }
  } catch (err) {
    // The read that explains a miss failed; run those writes again.
    if (!isTransient(err)) throw err;
    return writes.filter((write) => outcomes[write.index] === undefined);
  }
}

/** Runs `step` until it succeeds, retrying transient failures. */
export async function retrying<T>(
  policy: RetryPolicy,
  what: string,
  step: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + policy.retryForMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransient(err)) throw err;
      await pause(policy, attempt, deadline, what);
    }
  }
}

/** Waits before the next attempt, or fails once the deadline is near. */
async function pause(
  policy: RetryPolicy,
  attempt: number,
  deadline: number,
  what: string,
): Promise<void> {
  const backoff = Math.min(
    FIRST_BACKOFF_MS * 2 ** (attempt - 1),
    MAX_BACKOFF_MS,
  );
  if (Date.now() + backoff > deadline) {
    throw new WfeError(
      'STORE_UNAVAILABLE',
      `MongoDB did not answer ${what} within ${policy.retryForMs} ms ` +
        'of retries',
      { retryable: true },
    );
  }
  policy.logger.warn(
    { attempt, backoffMs: backoff, what },
    'MongoDB failed for a passing reason; retrying',
  );
  await new Promise((resolve) => setTimeout(resolve, backoff));
}

/**
 * Object writes were checked against the versions read at the start of
 * the batch, so one misses only when another writer got there first or
 * when this is a retry of a write that already happened. The documents
 * are then read back to tell: a write that happened left its write id.
 */
async function settleObjects(
  writes: PlannedWrite[],
  results: Map<PlannedWrite, WriteResult>,
  collections: Collections,
  outcomes: WriteOutcome[],
): Promise<void> {
  const unsure: PlannedWrite[] = [];
  for (const write of writes) {
    const result = results.get(write)!;
    if (result.kind === 'applied') outcomes[write.index] = objectDone(write);
    else if (result.kind === 'missed') unsure.push(write);
    else if (result.kind === 'failed' && result.code === DUPLICATE_KEY) {
      unsure.push(write);
    } else if (result.kind === 'failed') {
      outcomes[write.index] = serverRefusal(write, result);
    }
  }
  if (unsure.length === 0) return;

  const guids = unsure.map((write) => write.object!.guid);
  const docs = await collections.objects
    .find(
      { _id: { $in: guids } },
      { projection: { type: 1, version: 1, lastWrite: 1 } },
    )
    .toArray();
  const byGuid = new Map(docs.map((doc) => [doc._id, doc]));
  for (const write of unsure) {
    const op = write.object!;
    outcomes[write.index] = explainMiss(write, op, byGuid.get(op.guid));
  }
}

function explainMiss(
  write: PlannedWrite,
  op: ObjectOp,
  doc: Pick<ObjectDoc, 'type' | 'version' | 'lastWrite'> | undefined,
): WriteOutcome {
  if (op.kind === 'delete' ? !doc : doc?.lastWrite === op.writeId) {
    return objectDone(write);
  }
  const found = doc ? { type: doc.type, version: doc.version } : null;
  const expected = op.expectedVersion;
  const type = op.kind === 'update' ? op.type : undefined;
  return { ok: false, error: versionMismatch(op.guid, expected, found, type) };
}

function objectDone(write: PlannedWrite): WriteOutcome {
  const saved = write.object!.saved;
  return saved ? { ok: true, object: saved } : { ok: true };
}

/**
 * A duplicate key on a job is its idempotency key held by another job,
 * or else the job exists: a put of a waiting job is tried as an insert,
 * which is much cheaper than a replace on some servers.
 */
async function settleJobs(
  writes: PlannedWrite[],
  results: Map<PlannedWrite, WriteResult>,
  collections: Collections,
  outcomes: WriteOutcome[],
): Promise<PlannedWrite[]> {
  const collection = collections.jobs as unknown as Collection<never>;
  const again: PlannedWrite[] = [];
  const duplicates: PlannedWrite[] = [];
  for (const write of writes) {
    const result = results.get(write)!;
    if (result.kind !== 'failed') outcomes[write.index] = { ok: true };
    else if (result.code === DUPLICATE_KEY) duplicates.push(write);
    else outcomes[write.index] = serverRefusal(write, result);
  }

  // In batch order, so that a put which frees a key (or creates the job
  // an insert collided with) comes before the put that needs it.
  for (const write of duplicates) {
    write.ops = [replaceInstead(write.ops[0]!)];
    const result = await runAlone(collection, write);
    if (result.kind === 'transient') again.push(write);
    else if (result.kind !== 'failed') outcomes[write.index] = { ok: true };
    else if (result.code !== DUPLICATE_KEY) {
      outcomes[write.index] = serverRefusal(write, result);
    } else {
      outcomes[write.index] = await heldKey(write, collections);
    }
  }
  return again;
}

/** The outcome of a put whose idempotency key another job holds. */
async function heldKey(
  write: PlannedWrite,
  collections: Collections,
): Promise<WriteOutcome> {
  const key = write.idempotencyKey;
  const holder =
    key === undefined
      ? null
      : await collections.jobs.findOne(
          { idempotencyKey: key, _id: { $ne: write.jobId! } },
          { projection: { _id: 1 } },
        );
  if (holder) return duplicate(write.jobId!, key!, holder._id);

  // No holder any more: the key was freed meanwhile. Not expected from a
  // single writer; reported rather than retried without end.
  const message = `job ${write.jobId} collided on a unique key that is free now`;
  return { ok: false, error: failure('CONFLICT', message, {}) };
}

function settleLogs(
  writes: PlannedWrite[],
  results: Map<PlannedWrite, WriteResult>,
  outcomes: WriteOutcome[],
): void {
  for (const write of writes) {
    const result = results.get(write)!;
    // A line that is there already was appended before: that is done.
    outcomes[write.index] =
      result.kind === 'failed' && result.code !== DUPLICATE_KEY
        ? serverRefusal(write, result)
        : { ok: true };
  }
}

function duplicate(jobId: string, key: string, holder: string): WriteOutcome {
  const message =
    `job ${jobId} has idempotency key ${JSON.stringify(key)}, ` +
    `which job ${holder} already has`;
  const details = { jobId: holder, idempotencyKey: key };
  return { ok: false, error: failure('DUPLICATE', message, details) };
}

/** A refusal the checks did not foresee; the server's words are kept. */
function serverRefusal(
  write: PlannedWrite,
  error: { code: unknown; message: string },
): WriteOutcome {
  const message = `MongoDB refused the ${write.collection} write: ${error.message}`;
  const details = { mongoCode: error.code };
  return { ok: false, error: failure('BAD_WRITE', message, details) };
}

function replaceInstead(
  op: PlannedWrite['ops'][number],
): PlannedWrite['ops'][number] {
  if (!('insertOne' in op)) return op;
  const replacement = op.insertOne.document as { _id: string };
  return {
    replaceOne: {
      filter: { _id: replacement._id },
      replacement,
      upsert: true,
    },
  } as unknown as PlannedWrite['ops'][number];
}

function groupByCollection(
  writes: PlannedWrite[],
): Map<CollectionName, PlannedWrite[]> {
  const groups = new Map<CollectionName, PlannedWrite[]>();
  for (const write of writes) {
    const group = groups.get(write.collection);
    if (group) group.push(write);
    else groups.set(write.collection, [write]);
  }
  return groups;
}
