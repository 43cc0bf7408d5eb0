import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';

import { WfeError } from '../errors.js';
import {
  checkSize,
  jobDoc,
  logDoc,
  objectData,
  type JobDoc,
  type LogDoc,
  type ObjectDoc,
} from './mongo-docs.js';
import type { RootObject, Write, WriteOutcome } from './types.js';
import {
  badWrite,
  checkJob,
  checkLogEntry,
  checkObjectSave,
  checkString,
  checkVersion,
  versionMismatch,
  type FoundObject,
} from './write-checks.js';

/**
 * Turns a batch of writes into bulk operations. Every write is checked
 * first, and object writes are checked against the versions read at the
 * start of the batch, so that most refusals never reach the server. The
 * writes left are put in rounds: writes that touch the same document (or
 * the same idempotency key) go in later rounds, which keeps them in the
 * order they were sent while each round runs as unordered bulk writes.
 */

export type CollectionName = 'objects' | 'jobs' | 'logs';

export interface Collections {
  objects: Collection<ObjectDoc>;
  jobs: Collection<JobDoc>;
  logs: Collection<LogDoc>;
}

/** How an object write is told apart from others after it ran. */
export interface ObjectOp {
  kind: 'insert' | 'update' | 'delete';
  guid: string;
  expectedVersion: number;
  type?: string;
  /** Stamped on the document, so a retry can tell its own write. */
  writeId: string;
  saved?: RootObject;
}

export interface PlannedWrite {
  /** The write's position in the batch. */
  index: number;
  collection: CollectionName;
  /** Replaced when a retry must run them differently. */
  ops: AnyBulkWriteOperation<never>[];
  object?: ObjectOp;
  idempotencyKey?: string;
  jobId?: string;
}

export interface Plan {
  /** Outcomes known before anything runs, by batch position. */
  settled: Map<number, WriteOutcome>;
  rounds: PlannedWrite[][];
}

interface ObjectState extends FoundObject {
  createdAt: number;
}

export async function planBatch(
  writes: readonly Write[],
  collections: Collections,
  nextWriteId: () => string,
): Promise<Plan> {
  const settled = new Map<number, WriteOutcome>();
  const planned: Array<{ write: PlannedWrite; keys: string[] }> = [];
  const objects = await readObjectStates(writes, collections.objects);

  writes.forEach((write, index) => {
    try {
      const step = planWrite(write, index, objects, nextWriteId);
      if ('outcome' in step) settled.set(index, step.outcome);
      else planned.push(step);
    } catch (err) {
      if (!(err instanceof WfeError) || err.code !== 'BAD_WRITE') throw err;
      settled.set(index, { ok: false, error: err.toJSON() });
    }
  });

  return { settled, rounds: inRounds(planned) };
}

type Step = { outcome: WriteOutcome } | { write: PlannedWrite; keys: string[] };

function planWrite(
  write: Write,
  index: number,
  objects: Map<string, ObjectState | null>,
  nextWriteId: () => string,
): Step {
  switch (write?.kind) {
    case 'object.save':
      return planSave(write, index, objects, nextWriteId());
    case 'object.delete':
      return planDelete(write, index, objects, nextWriteId());
    case 'job.put':
      return planJob(write.job, index);
    case 'log.append':
      return planLog(write.entries, index);
    default: {
      const kind = (write as { kind?: unknown } | null)?.kind;
      throw badWrite(`unknown write kind ${String(kind)}`);
    }
  }
}

function planSave(
  write: Extract<Write, { kind: 'object.save' }>,
  index: number,
  objects: Map<string, ObjectState | null>,
  writeId: string,
): Step {
  const { guid, type, expectedVersion, at } = write;
  checkObjectSave(write);
  const data = objectData(guid, write.data);
  const found = objects.get(guid) ?? null;

  if (expectedVersion === 0 && found) {
    return { outcome: refused(guid, 0, found) };
  }
  if (expectedVersion > 0 && (!found || found.version !== expectedVersion)) {
    return { outcome: refused(guid, expectedVersion, found, type) };
  }
  if (found && found.type !== type) {
    return { outcome: refused(guid, expectedVersion, found, type) };
  }

  const version = expectedVersion + 1;
  const createdAt = found?.createdAt ?? at;
  const doc: ObjectDoc = {
    _id: guid,
    type,
    version,
    data,
    createdAt,
    updatedAt: at,
    lastWrite: writeId,
  };
  checkSize(doc, `object ${guid}`);
  objects.set(guid, { type, version, createdAt });

  const saved = { guid, type, version, data: write.data, createdAt };
  const object: ObjectOp = {
    kind: expectedVersion === 0 ? 'insert' : 'update',
    guid,
    expectedVersion,
    type,
    writeId,
    saved: { ...saved, updatedAt: at },
  };
  const op: AnyBulkWriteOperation<ObjectDoc> =
    expectedVersion === 0
      ? { insertOne: { document: doc } }
      : {
          updateOne: {
            filter: { _id: guid, version: expectedVersion, type },
            update: {
              $set: { version, data, updatedAt: at, lastWrite: writeId },
            },
          },
        };
  return planned(index, 'objects', [op], [`o:${guid}`], { object });
}

function planDelete(
  write: Extract<Write, { kind: 'object.delete' }>,
  index: number,
  objects: Map<string, ObjectState | null>,
  writeId: string,
): Step {
  const { guid, expectedVersion } = write;
  checkString(guid, 'object guid');
  checkVersion(expectedVersion, guid);
  if (expectedVersion === 0) {
    throw badWrite(`delete of object ${guid} needs a version above 0`);
  }
  const found = objects.get(guid) ?? null;
  if (!found || found.version !== expectedVersion) {
    return { outcome: refused(guid, expectedVersion, found) };
  }

  objects.set(guid, null);
  const op: AnyBulkWriteOperation<ObjectDoc> = {
    deleteOne: { filter: { _id: guid, version: expectedVersion } },
  };
  const object: ObjectOp = { kind: 'delete', guid, expectedVersion, writeId };
  return planned(index, 'objects', [op], [`o:${guid}`], { object });
}

function planJob(
  job: Extract<Write, { kind: 'job.put' }>['job'],
  index: number,
): Step {
  checkJob(job);
  const doc = jobDoc(job);
  // A job is first put while waiting, so that put is tried as an insert
  // (a duplicate key turns it into a replace).
  const op: AnyBulkWriteOperation<JobDoc> =
    job.status === 'waiting'
      ? { insertOne: { document: doc } }
      : {
          replaceOne: {
            filter: { _id: job.id },
            replacement: doc,
            upsert: true,
          },
        };
  const keys = [`j:${job.id}`];
  const key = job.idempotencyKey ?? undefined;
  if (key !== undefined) keys.push(`k:${key}`);
  return planned(index, 'jobs', [op], keys, {
    jobId: job.id,
    idempotencyKey: key,
  });
}

function planLog(
  entries: Extract<Write, { kind: 'log.append' }>['entries'],
  index: number,
): Step {
  if (!Array.isArray(entries)) throw badWrite('log entries must be an array');
  entries.forEach(checkLogEntry);
  const docs = entries.map(logDoc);

  // An entry already there stays as it is (a duplicate key on insert
  // counts as done), so appends are idempotent.
  const ops: AnyBulkWriteOperation<LogDoc>[] = docs.map((document) => ({
    insertOne: { document },
  }));
  const keys = docs.map((doc) => `l:${doc._id}`);
  return planned(index, 'logs', ops, keys, {});
}

function planned<T extends Document>(
  index: number,
  collection: CollectionName,
  ops: AnyBulkWriteOperation<T>[],
  keys: string[],
  extra: Partial<PlannedWrite>,
): Step {
  const write: PlannedWrite = {
    index,
    collection,
    ops: ops as AnyBulkWriteOperation<never>[],
    ...extra,
  };
  return { write, keys };
}

function refused(
  guid: string,
  expected: number,
  found: FoundObject | null,
  type?: string,
): WriteOutcome {
  return { ok: false, error: versionMismatch(guid, expected, found, type) };
}

/** Each write goes one round after the last write that shares a key. */
function inRounds(
  planned: Array<{ write: PlannedWrite; keys: string[] }>,
): PlannedWrite[][] {
  const lastRound = new Map<string, number>();
  const rounds: PlannedWrite[][] = [];

  for (const { write, keys } of planned) {
    let round = 0;
    for (const key of keys) {
      const previous = lastRound.get(key);
      if (previous !== undefined) round = Math.max(round, previous + 1);
    }
    for (const key of keys) lastRound.set(key, round);
    (rounds[round] ??= []).push(write);
  }
  return rounds;
}

/** The objects the batch touches, as they are before it runs. */
async function readObjectStates(
  writes: readonly Write[],
  objects: Collection<ObjectDoc>,
): Promise<Map<string, ObjectState | null>> {
  const guids = new Set<string>();
  for (const write of writes) {
    const kind = write?.kind;
    const guid = (write as { guid?: unknown } | null)?.guid;
    if (kind !== 'object.save' && kind !== 'object.delete') continue;
    if (typeof guid === 'string' && guid !== '') guids.add(guid);
  }
  const states = new Map<string, ObjectState | null>();
  if (guids.size === 0) return states;

  const found = await objects
    .find(
      { _id: { $in: [...guids] } },
      { projection: { type: 1, version: 1, createdAt: 1 } },
    )
    .toArray();
  for (const doc of found) {
    const { type, version, createdAt } = doc;
    states.set(doc._id, { type, version, createdAt });
  }
  return states;
}
