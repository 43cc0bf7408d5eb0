import { randomBytes } from 'node:crypto';

import { MongoClient, type Db, type Filter } from 'mongodb';

import { WfeError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { retrying, runRound } from './mongo-commit.js';
import {
  toJob,
  toLogEntry,
  toObject,
  type JobDoc,
  type LogDoc,
  type ObjectDoc,
} from './mongo-docs.js';
import { mongoStoreError } from './mongo-errors.js';
import { acquireLease, type Lease, type LeaseDoc } from './mongo-lease.js';
import { planBatch, type Collections } from './mongo-plan.js';
import { prepareDatabase } from './mongo-schema.js';
import { parseMongoUrl } from './mongo-url.js';
import { walkTree } from './job-tree.js';
import {
  afterSeqOf,
  checkIdempotencyKeyQuery,
  checkJobQuery,
  pageSize,
} from './query-checks.js';
import type {
  JobLogEntry,
  JobQuery,
  JobRecord,
  LogQuery,
  ObjectQuery,
  RootObject,
  Store,
  Write,
  WriteOutcome,
} from './types.js';

export interface MongoStoreOptions {
  /** A MongoDB connection string; its path names the database. */
  url: string;
  /** Overrides the database named in the URL. @default 'wfe' */
  database?: string;
  /**
   * How long an operation waits for a server before it fails. Opening
   * the store fails after this long when no server answers.
   * @default 5000
   */
  serverSelectionTimeoutMs?: number;
  /** How long a batch keeps retrying transient failures. @default 30000 */
  retryForMs?: number;
  /**
   * Open as the DRP's one writer: take the writer lease, or fail with
   * DRP_LOCKED while another live writer holds it. Readers leave it out.
   */
  writer?: { owner: string; leaseTtlMs?: number };
  /**
   * Refuse commits: for a process that reads the DRP directly while its
   * writes go through the writer of another process.
   */
  readOnly?: boolean;
  logger?: Logger;
}

/** A MongoDB store; a writer's also says whose lease it took over. */
export interface MongoStore extends Store {
  /** The writer whose lease had run out when this one took it. */
  readonly previousOwner?: string;
}

/**
 * Opens the MongoDB DRP store: connects, checks the schema version and
 * creates the collections' indexes. Fails with STORE_UNREACHABLE when no
 * server answers in time, and BAD_CONFIG for a malformed URL.
 */
export async function openMongoStore(
  options: MongoStoreOptions,
): Promise<MongoStore> {
  const url = parseMongoUrl(options.url);
  const database = options.database ?? url.database;
  const timeoutMs = options.serverSelectionTimeoutMs ?? 5_000;
  let client: MongoClient;
  try {
    client = new MongoClient(options.url, {
      appName: 'wfe',
      serverSelectionTimeoutMS: timeoutMs,
      ignoreUndefined: true,
    });
  } catch (err) {
    throw new WfeError(
      'BAD_CONFIG',
      `${url.display} is not a usable MongoDB URL: ${(err as Error).message}`,
      { cause: err },
    );
  }

  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => {});
    if ((err as { code?: unknown }).code === AUTH_FAILED) {
      throw new WfeError(
        'STORE_AUTH',
        `MongoDB at ${url.display} refused the credentials: ` +
          (err as Error).message,
        { cause: err },
      );
    }
    throw new WfeError(
      'STORE_UNREACHABLE',
      `cannot reach MongoDB at ${url.display} within ${timeoutMs} ms: ` +
        (err as Error).message,
      { retryable: true, cause: err },
    );
  }

  try {
    const db = client.db(database);
    await prepareDatabase(db);
    const logger = options.logger ?? silentLogger();
    const store = new MongoDbStore(client, db, {
      display: url.display,
      retryForMs: options.retryForMs ?? 30_000,
      logger,
      readOnly: options.readOnly ?? false,
    });
    if (options.writer) await store.takeLease(db, options.writer);
    return store;
  } catch (err) {
    await client.close().catch(() => {});
    if (err instanceof WfeError) throw err;
    throw mongoStoreError(`preparing database ${database}`, err);
  }
}

const AUTH_FAILED = 18;

interface StoreSettings {
  display: string;
  readOnly: boolean;
  retryForMs: number;
  logger: Logger;
}

class MongoDbStore implements MongoStore {
  readonly kind = 'mongodb';
  readonly location: string;
  readonly #client: MongoClient;
  readonly #collections: Collections;
  readonly #settings: StoreSettings;
  readonly #writePrefix = randomBytes(6).toString('hex');
  #writeCount = 0;
  #closed = false;
  #lease: Lease | null = null;
  /** Why writes are refused: another writer took the lease over. */
  #fenced: string | null = null;

  constructor(client: MongoClient, db: Db, settings: StoreSettings) {
    this.#client = client;
    this.#settings = settings;
    this.location = settings.display;
    this.#collections = {
      objects: db.collection<ObjectDoc>('objects'),
      jobs: db.collection<JobDoc>('jobs'),
      logs: db.collection<LogDoc>('job_logs'),
    };
  }

  get previousOwner(): string | undefined {
    return this.#lease?.previousOwner;
  }

  async takeLease(
    db: Db,
    writer: NonNullable<MongoStoreOptions['writer']>,
  ): Promise<void> {
    const { logger, display } = this.#settings;
    this.#lease = await acquireLease(db.collection<LeaseDoc>('meta'), display, {
      owner: writer.owner,
      ttlMs: writer.leaseTtlMs,
      logger,
      onLost: (reason) => {
        this.#fenced = reason;
        logger.error({ at: display }, `DRP writer lease lost: ${reason}`);
      },
    });
  }

  async commit(writes: readonly Write[]): Promise<WriteOutcome[]> {
    this.#assertOpen();
    if (this.#settings.readOnly) {
      throw new WfeError(
        'NOT_SUPPORTED',
        'this process only reads the MongoDB DRP; write through the writer',
      );
    }
    if (this.#fenced !== null) {
      throw new WfeError(
        'STORE_FENCED',
        `this engine no longer writes the DRP at ` +
          `${this.#settings.display}: ${this.#fenced}`,
      );
    }
    if (writes.length === 0) return [];

    try {
      const nextWriteId = () => `${this.#writePrefix}.${++this.#writeCount}`;
      const plan = await retrying(this.#settings, 'a read of versions', () =>
        planBatch(writes, this.#collections, nextWriteId),
      );
      const outcomes: WriteOutcome[] = new Array(writes.length);
      for (const [index, outcome] of plan.settled) outcomes[index] = outcome;

      // Rounds run one after another: a later round may depend on an
      // earlier one (two saves of one object in one batch).
      for (const round of plan.rounds) {
        await runRound(round, this.#collections, outcomes, this.#settings);
      }
      return outcomes;
    } catch (err) {
      throw mongoStoreError('commit', err);
    }
  }

  async getObject(guid: string): Promise<RootObject | null> {
    const doc = await this.#read(() =>
      this.#collections.objects.findOne({ _id: guid }),
    );
    return doc ? toObject(doc) : null;
  }

  async findObjects(query: ObjectQuery = {}): Promise<RootObject[]> {
    const limit = pageSize(query.limit);
    const filter: Filter<ObjectDoc> = {};
    if (query.type !== undefined) filter.type = query.type;
    if (query.afterGuid !== undefined) filter._id = { $gt: query.afterGuid };

    const docs = await this.#read(() =>
      this.#collections.objects
        .find(filter)
        .sort({ _id: 1 })
        .limit(limit)
        .toArray(),
    );
    return docs.map(toObject);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const doc = await this.#read(() =>
      this.#collections.jobs.findOne({ _id: id }),
    );
    return doc ? toJob(doc) : null;
  }

  async getJobByKey(idempotencyKey: string): Promise<JobRecord | null> {
    checkIdempotencyKeyQuery(idempotencyKey);
    const doc = await this.#read(() =>
      this.#collections.jobs.findOne({ idempotencyKey }),
    );
    return doc ? toJob(doc) : null;
  }

  async listJobs(query: JobQuery = {}): Promise<JobRecord[]> {
    const limit = pageSize(query.limit);
    checkJobQuery(query);
    const filter: Filter<JobDoc> = {};
    if (query.status !== undefined) filter.status = query.status;
    if (query.owner !== undefined) filter.owner = query.owner;
    if (query.action !== undefined) filter.action = query.action;
    if (query.parentId !== undefined) filter.parentId = query.parentId;
    if (query.beforeId !== undefined) filter._id = { $lt: query.beforeId };

    const docs = await this.#read(() =>
      this.#collections.jobs
        .find(filter)
        .sort({ _id: -1 })
        .limit(limit)
        .toArray(),
    );
    return docs.map(toJob);
  }

  async jobTree(id: string): Promise<JobRecord[]> {
    const top = await this.#read(() =>
      this.#collections.jobs.findOne(
        { _id: id },
        { projection: { rootId: 1 } },
      ),
    );
    if (!top) return [];

    const docs = await this.#read(() =>
      this.#collections.jobs
        .find({ rootId: top.rootId })
        .sort({ _id: 1 })
        .toArray(),
    );
    return walkTree(id, docs.map(toJob));
  }

  async jobLogs(jobId: string, query: LogQuery = {}): Promise<JobLogEntry[]> {
    const limit = pageSize(query.limit);
    const afterSeq = afterSeqOf(query);

    const docs = await this.#read(() =>
      this.#collections.logs
        .find({ jobId, seq: { $gt: afterSeq } })
        .sort({ seq: 1 })
        .limit(limit)
        .toArray(),
    );
    return docs.map(toLogEntry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#lease?.release();
    await this.#client.close();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new WfeError(
        'STORE_CLOSED',
        `the MongoDB store at ${this.#settings.display} is closed`,
      );
    }
  }

  async #read<T>(query: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await query();
    } catch (err) {
      throw mongoStoreError('read', err);
    }
  }
}
