import {
  MongoBulkWriteError,
  type AnyBulkWriteOperation,
  type BulkWriteResult,
  type Collection,
} from 'mongodb';

import { DUPLICATE_KEY, isTransient, isTransientCode } from './mongo-errors.js';
import type { PlannedWrite } from './mongo-plan.js';

/**
 * Runs a collection's planned writes as one unordered bulk write and
 * tells, for each write, what became of it.
 *
 * Inserts run as one command and report their own errors. Updates,
 * replaces and deletes run in commands of at most 50, and are not
 * always that precise: the counts of a bulk write do not say which
 * update matched nothing, and FerretDB stops an update command at its
 * first failing statement, reports it as the first, and drops the rest
 * unreported. So when an update-like write of a command failed, or the
 * counts fall short, each write of that command runs again on its own,
 * which gives an exact answer. Running one again is safe: every write is
 * idempotent.
 */

export type WriteResult =
  | { kind: 'applied' }
  /** An update or delete whose filter matched nothing. */
  | { kind: 'missed' }
  | { kind: 'failed'; code: unknown; message: string }
  /** Worth running again after a pause. */
  | { kind: 'transient' };

interface BulkAnswer {
  result: BulkWriteResult | null;
  /** The error of each operation that failed, by operation position. */
  errors: Map<number, { code: unknown; message: string }>;
}

type Op = AnyBulkWriteOperation<never>;

/**
 * Update-like operations per command. FerretDB 1.24 holds a database
 * connection for every matched statement until its command ends, from a
 * pool of 100, so a command of 100 matched updates never returns.
 */
const UPDATE_CHUNK = 50;

export async function runBulk(
  collection: Collection<never>,
  writes: PlannedWrite[],
): Promise<Map<PlannedWrite, WriteResult>> {
  const results = new Map<PlannedWrite, WriteResult>();
  const inserts = writes.filter((write) => isInsert(write.ops[0]!));
  const updates = writes.filter((write) => !isInsert(write.ops[0]!));

  if (inserts.length > 0) await runInserts(collection, inserts, results);
  for (let i = 0; i < updates.length; i += UPDATE_CHUNK) {
    const chunk = updates.slice(i, i + UPDATE_CHUNK);
    await runUpdates(collection, chunk, results);
  }
  return results;
}

async function runInserts(
  collection: Collection<never>,
  writes: PlannedWrite[],
  results: Map<PlannedWrite, WriteResult>,
): Promise<void> {
  const ops: Op[] = [];
  const ownerOf: PlannedWrite[] = [];
  for (const write of writes) {
    for (const op of write.ops) {
      ops.push(op);
      ownerOf.push(write);
    }
  }

  const answer = await bulk(collection, ops);
  for (const [position, error] of answer === 'transient' ? [] : answer.errors) {
    const write = ownerOf[position]!;
    results.set(write, worse(results.get(write), error));
  }
  for (const write of writes) {
    if (answer === 'transient') results.set(write, { kind: 'transient' });
    else if (!results.has(write)) results.set(write, { kind: 'applied' });
  }
}

/** Update-like writes have one operation each. */
async function runUpdates(
  collection: Collection<never>,
  writes: PlannedWrite[],
  results: Map<PlannedWrite, WriteResult>,
): Promise<void> {
  const answer = await bulk(
    collection,
    writes.map((write) => write.ops[0]!),
  );
  if (answer === 'transient') {
    for (const write of writes) results.set(write, { kind: 'transient' });
    return;
  }

  const doubtful =
    answer.errors.size > 0 || !countsCover(answer.result, writes);
  for (const write of writes) {
    results.set(
      write,
      doubtful ? await runAlone(collection, write) : { kind: 'applied' },
    );
  }
}

/** Runs one write as its own command, for an exact answer. */
export async function runAlone(
  collection: Collection<never>,
  write: PlannedWrite,
): Promise<WriteResult> {
  const answer = await bulk(collection, write.ops);
  if (answer === 'transient') return { kind: 'transient' };

  const [error] = answer.errors.values();
  if (error) return { kind: 'failed', ...error };
  return countsCover(answer.result, [write])
    ? { kind: 'applied' }
    : { kind: 'missed' };
}

/** Whether every update-like write matched (or upserted) a document. */
function countsCover(
  result: BulkWriteResult | null,
  updates: PlannedWrite[],
): boolean {
  let changes = 0;
  let deletes = 0;
  for (const write of updates) {
    if ('deleteOne' in write.ops[0]!) deletes++;
    else changes++;
  }
  const matched = (result?.matchedCount ?? 0) + (result?.upsertedCount ?? 0);
  return matched >= changes && (result?.deletedCount ?? 0) >= deletes;
}

async function bulk(
  collection: Collection<never>,
  ops: Op[],
): Promise<BulkAnswer | 'transient'> {
  try {
    const result = await collection.bulkWrite(ops, { ordered: false });
    return { result, errors: new Map() };
  } catch (err) {
    if (isTransient(err)) return 'transient';
    if (!(err instanceof MongoBulkWriteError)) throw err;

    const list = [err.writeErrors].flat();
    if (list.length === 0 || list.some((e) => isTransientCode(e.code))) {
      // A write concern error, or operations cut short: all run again.
      return 'transient';
    }
    const errors = new Map(
      list.map((e) => [e.index, { code: e.code, message: e.errmsg ?? '' }]),
    );
    return { result: err.result, errors };
  }
}

function isInsert(op: Op): boolean {
  return 'insertOne' in op;
}

/** A log write has many lines: a real error outweighs a duplicate. */
function worse(
  current: WriteResult | undefined,
  error: { code: unknown; message: string },
): WriteResult {
  if (current?.kind === 'failed' && error.code === DUPLICATE_KEY) {
    return current;
  }
  return { kind: 'failed', ...error };
}
