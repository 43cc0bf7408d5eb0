import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { WfeError } from '../errors.js';
import {
  type JobLogEntry,
  type JobQuery,
  type JobRecord,
  type LogQuery,
  type ObjectQuery,
  type RootObject,
  type Store,
  type Write,
  type WriteOutcome,
} from './types.js';
import { migrate } from './sqlite-schema.js';
import {
  type JobRow,
  UPSERT_JOB_SQL,
  jobConditions,
  jobRowValues,
  toJob,
} from './sqlite-jobs.js';
import { walkTree } from './job-tree.js';
import {
  afterSeqOf,
  checkIdempotencyKeyQuery,
  checkJobQuery,
  failure,
  pageSize,
} from './query-checks.js';
import {
  badWrite,
  checkJob,
  checkLogEntry,
  checkString,
  checkObjectSave,
  checkVersion,
  toJson,
  versionMismatch,
} from './write-checks.js';

export interface SqliteStoreOptions {
  /** A database file (parent folders are created) or ':memory:'. */
  path: string;
  /**
   * `FULL` syncs every commit to disk, so an acknowledged batch survives a
   * power loss. `NORMAL` may lose the last commits on power loss (not on a
   * process crash) and is much faster for unbatched writes.
   * @default 'FULL'
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long to wait for a lock held by another connection. @default 5000 */
  busyTimeoutMs?: number;
}

/** Opens (and creates or migrates) the embedded DRP store. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const { path, synchronous = 'FULL', busyTimeoutMs = 5000 } = options;
  let db: Database.Database | undefined;

  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    migrate(db);
    return new SqliteStore(db, path);
  } catch (err) {
    db?.close();
    if (err instanceof WfeError) throw err;
    throw storeError(`open ${path}`, err);
  }
}

interface ObjectRow {
  guid: string;
  type: string;
  version: number;
  data: string;
  created_at: number;
  updated_at: number;
}

interface LogRow {
  job_id: string;
  seq: number;
  at: number;
  level: string;
  message: string;
  data: string | null;
}

type Row = Record<string, unknown>;

class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly #db: Database.Database;
  #closed = false;
  readonly #queries = new Map<string, Database.Statement<unknown[], Row>>();

  // The write path runs these for every write; prepare them once.
  readonly #insertObject;
  readonly #updateObject;
  readonly #deleteObject;
  readonly #objectVersion;
  readonly #putJob;
  readonly #otherJobWithKey;
  readonly #appendLog;
  readonly #applyBatch;

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.location = path;

    this.#insertObject = db.prepare<[string, string, string, number, number]>(
      `INSERT INTO objects (guid, type, version, data, created_at, updated_at)
       VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (guid) DO NOTHING`,
    );
    this.#updateObject = db.prepare<
      [string, number, string, number, string],
      { created_at: number }
    >(
      `UPDATE objects SET version = version + 1, data = ?, updated_at = ?
       WHERE guid = ? AND version = ? AND type = ? RETURNING created_at`,
    );
    this.#deleteObject = db.prepare<[string, number]>(
      'DELETE FROM objects WHERE guid = ? AND version = ?',
    );
    this.#objectVersion = db.prepare<
      [string],
      { type: string; version: number }
    >('SELECT type, version FROM objects WHERE guid = ?');
    this.#putJob = db.prepare<unknown[]>(UPSERT_JOB_SQL);
    this.#otherJobWithKey = db.prepare<[string, string], { id: string }>(
      'SELECT id FROM jobs WHERE idempotency_key = ? AND id <> ? LIMIT 1',
    );
    this.#appendLog = db.prepare<unknown[]>(
      `INSERT INTO job_logs (job_id, seq, at, level, message, data)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, seq) DO NOTHING`,
    );
    this.#applyBatch = db.transaction((writes: readonly Write[]) =>
      writes.map((write) => this.#apply(write)),
    );
  }

  async commit(writes: readonly Write[]): Promise<WriteOutcome[]> {
    this.#assertOpen();
    if (writes.length === 0) return [];

    try {
      // IMMEDIATE takes the write lock up front, so a busy database fails
      // (or waits) before anything runs rather than midway.
      return this.#applyBatch.immediate(writes);
    } catch (err) {
      throw storeError('commit', err);
    }
  }

  async getObject(guid: string): Promise<RootObject | null> {
    const row = this.#query(
      'SELECT * FROM objects WHERE guid = ?',
      [guid],
      'get',
    ) as ObjectRow | undefined;
    return row ? toObject(row) : null;
  }

  async findObjects(query: ObjectQuery = {}): Promise<RootObject[]> {
    const limit = pageSize(query.limit);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.type !== undefined) {
      where.push('type = ?');
      params.push(query.type);
    }
    if (query.afterGuid !== undefined) {
      where.push('guid > ?');
      params.push(query.afterGuid);
    }
    params.push(limit);

    const sql = `SELECT * FROM objects ${whereClause(where)}
      ORDER BY guid LIMIT ?`;
    return (this.#query(sql, params, 'all') as ObjectRow[]).map(toObject);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const row = this.#query('SELECT * FROM jobs WHERE id = ?', [id], 'get');
    return row ? toJob(row as JobRow) : null;
  }

  async getJobByKey(idempotencyKey: string): Promise<JobRecord | null> {
    checkIdempotencyKeyQuery(idempotencyKey);

    const row = this.#query(
      'SELECT * FROM jobs WHERE idempotency_key = ?',
      [idempotencyKey],
      'get',
    );
    return row ? toJob(row as JobRow) : null;
  }

  async listJobs(query: JobQuery = {}): Promise<JobRecord[]> {
    const limit = pageSize(query.limit);
    checkJobQuery(query);

    const { where, params } = jobConditions(query);
    params.push(limit);

    const sql = `SELECT * FROM jobs ${whereClause(where)}
      ORDER BY id DESC LIMIT ?`;
    return (this.#query(sql, params, 'all') as JobRow[]).map(toJob);
  }

  async jobTree(id: string): Promise<JobRecord[]> {
    const top = this.#query(
      'SELECT root_id FROM jobs WHERE id = ?',
      [id],
      'get',
    ) as { root_id: string } | undefined;
    if (!top) return [];

    const rows = this.#query(
      `SELECT * FROM jobs WHERE root_id = ? ORDER BY id`,
      [top.root_id],
      'all',
    ) as JobRow[];
    return walkTree(id, rows.map(toJob));
  }

  async jobLogs(jobId: string, query: LogQuery = {}): Promise<JobLogEntry[]> {
    const limit = pageSize(query.limit);
    const afterSeq = afterSeqOf(query);

    const rows = this.#query(
      `SELECT * FROM job_logs WHERE job_id = ? AND seq > ?
       ORDER BY seq LIMIT ?`,
      [jobId, afterSeq, limit],
      'all',
    ) as LogRow[];
    return rows.map(toLogEntry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queries.clear();
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new WfeError('STORE_CLOSED', 'the SQLite store is closed');
    }
  }

  #query(sql: string, params: unknown[], mode: 'get' | 'all'): unknown {
    this.#assertOpen();

    try {
      let statement = this.#queries.get(sql);
      if (!statement) {
        statement = this.#db.prepare<unknown[], Row>(sql);
        this.#queries.set(sql, statement);
      }
      return mode === 'get'
        ? statement.get(...params)
        : statement.all(...params);
    } catch (err) {
      throw storeError('read', err);
    }
  }

  /**
   * Applies one write inside the batch transaction. Every check and JSON
   * encoding happens before the first statement runs, so a write that is
   * refused leaves nothing behind. SQLite errors are not caught here: they
   * abort the whole batch.
   */
  #apply(write: Write): WriteOutcome {
    try {
      switch (write?.kind) {
        case 'object.save':
          return this.#saveObject(write);
        case 'object.delete':
          return this.#deleteObjectWrite(write);
        case 'job.put':
          return this.#putJobWrite(write.job);
        case 'log.append':
          return this.#appendLogWrite(write.entries);
        default: {
          const kind = (write as { kind?: unknown } | null)?.kind;
          throw badWrite(`unknown write kind ${String(kind)}`);
        }
      }
    } catch (err) {
      if (err instanceof WfeError && err.code === 'BAD_WRITE') {
        return { ok: false, error: err.toJSON() };
      }
      throw err;
    }
  }

  #saveObject(write: Extract<Write, { kind: 'object.save' }>): WriteOutcome {
    const { guid, type, expectedVersion, at } = write;
    checkObjectSave(write);
    const data = toJson(write.data, `object ${guid} data`);

    if (expectedVersion === 0) {
      const { changes } = this.#insertObject.run(guid, type, data, at, at);
      if (changes === 0) return this.#mismatch(guid, 0);
      return savedObject(write, 1, at);
    }

    const row = this.#updateObject.get(data, at, guid, expectedVersion, type);
    if (!row) return this.#mismatch(guid, expectedVersion, type);
    return savedObject(write, expectedVersion + 1, row.created_at);
  }

  #deleteObjectWrite(
    write: Extract<Write, { kind: 'object.delete' }>,
  ): WriteOutcome {
    const { guid, expectedVersion } = write;
    checkString(guid, 'object guid');
    checkVersion(expectedVersion, guid);
    if (expectedVersion === 0) {
      throw badWrite(`delete of object ${guid} needs a version above 0`);
    }

    const { changes } = this.#deleteObject.run(guid, expectedVersion);
    if (changes === 0) return this.#mismatch(guid, expectedVersion);
    return { ok: true };
  }

  /** Explains why a versioned save or delete touched no row. */
  #mismatch(guid: string, expected: number, type?: string): WriteOutcome {
    const found = this.#objectVersion.get(guid) ?? null;
    return { ok: false, error: versionMismatch(guid, expected, found, type) };
  }

  #putJobWrite(job: JobRecord): WriteOutcome {
    checkJob(job);
    const values = jobRowValues(job);

    // Checked here, not left to the unique index: a constraint failure
    // would abort the whole batch. Earlier writes of this batch count.
    const key = job.idempotencyKey;
    const holder =
      key === null ? undefined : this.#otherJobWithKey.get(key, job.id);
    if (holder) {
      const message =
        `job ${job.id} has idempotency key ${JSON.stringify(key)}, ` +
        `which job ${holder.id} already has`;
      const details = { jobId: holder.id, idempotencyKey: key };
      return { ok: false, error: failure('DUPLICATE', message, details) };
    }

    this.#putJob.run(...values);
    return { ok: true };
  }

  #appendLogWrite(entries: readonly JobLogEntry[]): WriteOutcome {
    if (!Array.isArray(entries)) throw badWrite('log entries must be an array');
    const data = entries.map(checkLogEntry);

    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as JobLogEntry;
      const { jobId, seq, at, level, message } = entry;
      this.#appendLog.run(jobId, seq, at, level, message, data[i]);
    }
    return { ok: true };
  }
}

function savedObject(
  write: Extract<Write, { kind: 'object.save' }>,
  version: number,
  createdAt: number,
): WriteOutcome {
  const { guid, type, data, at } = write;
  return {
    ok: true,
    object: { guid, type, version, data, createdAt, updatedAt: at },
  };
}

function toObject(row: ObjectRow): RootObject {
  return {
    guid: row.guid,
    type: row.type,
    version: row.version,
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toLogEntry(row: LogRow): JobLogEntry {
  const entry: JobLogEntry = {
    jobId: row.job_id,
    seq: row.seq,
    at: row.at,
    level: row.level as JobLogEntry['level'],
    message: row.message,
  };
  if (row.data !== null) entry.data = JSON.parse(row.data);
  return entry;
}

function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/** Wraps a SQLite failure; a busy database is worth trying again. */
function storeError(action: string, err: unknown): WfeError {
  const sqliteCode = (err as { code?: unknown } | null)?.code;
  const busy =
    typeof sqliteCode === 'string' && sqliteCode.startsWith('SQLITE_BUSY');
  const reason = err instanceof Error ? err.message : String(err);
  return new WfeError('STORE_ERROR', `SQLite ${action} failed: ${reason}`, {
    retryable: busy,
    details: { sqliteCode },
    cause: err,
  });
}
