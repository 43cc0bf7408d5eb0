import type { Collection, Db, IndexDescription } from 'mongodb';

import { WfeError } from '../errors.js';
import { DUPLICATE_KEY } from './mongo-errors.js';

/**
 * The collections wfe keeps in its MongoDB database, their indexes, and
 * the schema version recorded in `meta`. Every start runs this; it
 * creates only the indexes that are missing.
 */

export const MONGO_SCHEMA_VERSION = 1;

const INDEXES: Record<string, IndexDescription[]> = {
  // findObjects: by type, paged by guid.
  objects: [{ key: { type: 1, _id: 1 }, name: 'type_guid' }],
  jobs: [
    // listJobs: each filter, newest first.
    { key: { status: 1, _id: -1 }, name: 'status_id' },
    { key: { owner: 1, _id: -1 }, name: 'owner_id' },
    { key: { action: 1, _id: -1 }, name: 'action_id' },
    { key: { parentId: 1, _id: -1 }, name: 'parent_id' },
    // jobTree: every job of one tree.
    { key: { rootId: 1, _id: 1 }, name: 'root_id' },
    // A job without a key has no such field, so the sparse index
    // leaves it out. (FerretDB has no partial indexes.)
    {
      key: { idempotencyKey: 1 },
      name: 'idempotency_key',
      unique: true,
      sparse: true,
    },
  ],
  job_logs: [{ key: { jobId: 1, seq: 1 }, name: 'job_seq', unique: true }],
};

interface MetaDoc {
  _id: string;
  version: number;
}

export async function prepareDatabase(db: Db): Promise<void> {
  const meta = db.collection<MetaDoc>('meta');
  const schema = await meta.findOne({ _id: 'schema' });
  if (schema && schema.version > MONGO_SCHEMA_VERSION) {
    throw new WfeError(
      'STORE_TOO_NEW',
      `database ${db.databaseName} has schema version ${schema.version}, ` +
        `newer than this wfe's ${MONGO_SCHEMA_VERSION}; upgrade wfe`,
    );
  }

  for (const [name, indexes] of Object.entries(INDEXES)) {
    await createMissingIndexes(db.collection(name), indexes);
  }
  if (!schema || schema.version < MONGO_SCHEMA_VERSION) {
    // Two engines starting on a new database race to record it; the
    // loser's duplicate key means the record is there.
    await meta
      .updateOne(
        { _id: 'schema' },
        { $set: { version: MONGO_SCHEMA_VERSION } },
        { upsert: true },
      )
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      });
  }
}

/**
 * One index per call, and only those missing: FerretDB drops the
 * connection when asked to create several indexes that all exist.
 */
async function createMissingIndexes(
  collection: Collection,
  indexes: IndexDescription[],
): Promise<void> {
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch((err: unknown) => {
      // A collection that does not exist yet has no indexes.
      if ((err as { code?: unknown }).code === NAMESPACE_NOT_FOUND) return [];
      throw err;
    });
  const names = new Set(existing.map((index) => index.name as string));
  for (const index of indexes) {
    if (names.has(index.name!)) continue;
    try {
      await collection.createIndexes([index]);
    } catch (err) {
      // Another engine starting at the same time may have made it.
      const now = await collection.listIndexes().toArray();
      if (!now.some((made) => made.name === index.name)) throw err;
    }
  }
}

const NAMESPACE_NOT_FOUND = 26;
