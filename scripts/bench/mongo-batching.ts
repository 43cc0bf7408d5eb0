import type { Db, MongoClient } from 'mongodb';

import {
  jobDoc,
  logDoc,
  objectData,
  type JobDoc,
  type LogDoc,
  type ObjectDoc,
} from '../../runtime/drp/mongo-docs.js';
import { prepareDatabase } from '../../runtime/drp/mongo-schema.js';
import { openMongoStore } from '../../runtime/drp/mongo-store.js';
import type { Store, Write } from '../../runtime/drp/types.js';
import { check, ratePerSec } from './stats.js';
import { batchedPerSec, jobPut } from './writer-batching.js';

export interface MongoBatchingResult {
  batchedPerSec: number;
  oneByOnePerSec: number;
  ratio: number;
  /** The first phase alone, where every write creates a document. */
  createRatio: number;
  /** The second phase alone, where jobs and objects are updated. */
  updateRatio: number;
}

/** Writes per second of each phase, and of both together. */
interface PhaseRates {
  create: number;
  update: number;
  total: number;
}

function combine(count: number, create: number, update: number): PhaseRates {
  const seconds = (3 * count) / create + (3 * count) / update;
  return { create, update, total: (6 * count) / seconds };
}

/**
 * The writes of `count` jobs and `count` objects as a writer sees them,
 * in two phases like the engine's: first each job put while waiting, each
 * object created and a log line per job; then each job put again when
 * done, each object updated, and another log line.
 */
function phase(prefix: string, count: number, second: boolean): Write[] {
  const writes: Write[] = [];
  for (let i = 0; i < count; i++) {
    const put = jobPut(prefix, i) as Extract<Write, { kind: 'job.put' }>;
    const job = second ? put.job : { ...put.job, status: 'waiting' as const };
    writes.push({ kind: 'job.put', job });
    writes.push(objectSave(prefix, i, second ? 1 : 0));
    writes.push({
      kind: 'log.append',
      entries: [
        {
          jobId: job.id,
          seq: second ? 2 : 1,
          at: Date.now(),
          level: 'info',
          message: second ? 'machine created' : 'creating machine',
        },
      ],
    });
  }
  return writes;
}

function objectSave(
  prefix: string,
  n: number,
  expectedVersion: number,
): Extract<Write, { kind: 'object.save' }> {
  return {
    kind: 'object.save',
    guid: `${prefix}-obj-${String(n).padStart(8, '0')}`,
    type: 'machine',
    data: {
      name: `vm-${n}`,
      memoryMb: 2048,
      cpus: 2,
      image: 'debian-12-generic-amd64',
      state: expectedVersion === 0 ? 'creating' : 'running',
    },
    expectedVersion,
    at: Date.now(),
  };
}

/**
 * What a writer without batching does: each write is one driver call
 * with the store's document shapes (insertOne for a new job, object or
 * log line; replaceOne for a job put again; updateOne for an object
 * update), awaited before the next.
 */
async function oneByOnePerSec(db: Db, count: number): Promise<PhaseRates> {
  const rates: number[] = [];
  for (const second of [false, true]) {
    const writes = phase('single', count, second);
    let ok = 0;
    rates.push(
      await ratePerSec(writes.length, async () => {
        for (const [i, write] of writes.entries()) {
          if (await writeAlone(db, write, `single.${i}`)) ok++;
        }
      }),
    );
    check(ok === writes.length, `one by one: ${ok} of ${writes.length} ok`);
  }
  return combine(count, rates[0]!, rates[1]!);
}

async function writeAlone(
  db: Db,
  write: Write,
  writeId: string,
): Promise<boolean> {
  const jobs = db.collection<JobDoc>('jobs');
  const objects = db.collection<ObjectDoc>('objects');
  if (write.kind === 'job.put') {
    const doc = jobDoc(write.job);
    if (write.job.status === 'waiting') {
      return (await jobs.insertOne(doc)).insertedId === write.job.id;
    }
    return (await jobs.replaceOne({ _id: doc._id }, doc)).matchedCount === 1;
  }
  if (write.kind === 'log.append') {
    const docs = write.entries.map(logDoc);
    const logs = db.collection<LogDoc>('job_logs');
    return (await logs.insertMany(docs)).insertedCount === docs.length;
  }
  check(write.kind === 'object.save', `unexpected write ${write.kind}`);

  const { guid, type, expectedVersion, at } = write as MixedSave;
  const data = objectData(guid, (write as MixedSave).data);
  const version = expectedVersion + 1;
  if (expectedVersion === 0) {
    const inserted = await objects.insertOne({
      _id: guid,
      type,
      version,
      data,
      createdAt: at,
      updatedAt: at,
      lastWrite: writeId,
    });
    return inserted.insertedId === guid;
  }
  const updated = await objects.updateOne(
    { _id: guid, version: expectedVersion, type },
    { $set: { version, data, updatedAt: at, lastWrite: writeId } },
  );
  return updated.matchedCount === 1;
}

type MixedSave = Extract<Write, { kind: 'object.save' }>;

/** Checks that a database holds what the two phases leave. */
async function checkHolds(db: Db, count: number, what: string) {
  const [done, updated, lines] = await Promise.all([
    db.collection('jobs').countDocuments({ status: 'done' }),
    db.collection('objects').countDocuments({ version: 2 }),
    db.collection('job_logs').countDocuments(),
  ]);
  check(
    done === count && updated === count && lines === 2 * count,
    `${what}: ${done}/${count} jobs done, ${updated}/${count} objects ` +
      `updated, ${lines}/${2 * count} log lines in ${db.databaseName}`,
  );
}

/** Both phases through the real writer, each phase sent all at once. */
async function batchedPhasesPerSec(
  store: Store,
  count: number,
): Promise<PhaseRates> {
  const rates: number[] = [];
  for (const second of [false, true]) {
    const writes = phase('batched', count, second);
    rates.push(await batchedPerSec(store, writes.length, (i) => writes[i]!));
  }
  return combine(count, rates[0]!, rates[1]!);
}

/**
 * The DRP writer committing the writes of `count` jobs and objects to
 * the MongoDB store in batches, versus one driver call per write. Both
 * write the same, since a write may cost more as a collection grows.
 * Each side has a fresh database with the store's indexes; both are
 * dropped afterwards.
 */
export async function mongoBatching(options: {
  client: MongoClient;
  url: string;
  freshDatabase: () => string;
  /** Jobs (and objects); each makes six writes. */
  count: number;
}): Promise<MongoBatchingResult> {
  const { client, count } = options;
  const batchedDb = client.db(options.freshDatabase());
  const singleDb = client.db(options.freshDatabase());

  const store = await openMongoStore({
    url: options.url,
    database: batchedDb.databaseName,
  });
  let batched: PhaseRates;
  try {
    batched = await batchedPhasesPerSec(store, count);
  } finally {
    await store.close();
  }
  await checkHolds(batchedDb, count, 'batched');

  await prepareDatabase(singleDb);
  const oneByOne = await oneByOnePerSec(singleDb, count);
  await checkHolds(singleDb, count, 'one by one');

  await Promise.all([batchedDb.dropDatabase(), singleDb.dropDatabase()]);
  return {
    batchedPerSec: batched.total,
    oneByOnePerSec: oneByOne.total,
    ratio: batched.total / oneByOne.total,
    createRatio: batched.create / oneByOne.create,
    updateRatio: batched.update / oneByOne.update,
  };
}
