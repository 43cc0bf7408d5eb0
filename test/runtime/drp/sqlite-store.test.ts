import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  SQLITE_SCHEMA_VERSION,
  migrate,
} from '../../../runtime/drp/sqlite-schema.js';
import { openSqliteStore } from '../../../runtime/drp/sqlite-store.js';
import type { JobRecord, Write } from '../../../runtime/drp/types.js';
import { storeContract } from './store-contract.js';

const T = 1_700_000_000_000;

interface IndexInfo {
  name: string;
  unique: number;
  partial: number;
}

const machine = (guid: string, n: number): Write => ({
  kind: 'object.save',
  guid,
  type: 'machine',
  data: { n },
  expectedVersion: n - 1,
  at: T + n,
});

const job: JobRecord = {
  id: 'j-1',
  parentId: null,
  rootId: 'j-1',
  action: 'machine.start',
  target: 'm-1',
  params: {},
  status: 'waiting',
  result: undefined,
  error: null,
  maxDurationMs: null,
  idempotencyKey: 'k-1',
  owner: 'engine-1',
  createdAt: T,
  startedAt: null,
  endedAt: null,
};

t.test('sqlite store - contract in memory', async (t) => {
  storeContract(t, () => openSqliteStore({ path: ':memory:' }));
});

t.test('sqlite store - contract on a file', async (t) => {
  const dir = t.testdir();
  let n = 0;
  storeContract(t, () =>
    openSqliteStore({
      path: join(dir, `store-${++n}.db`),
      synchronous: 'NORMAL',
    }),
  );
});

t.test('sqlite store - data survives close and reopen', async (t) => {
  const path = join(t.testdir(), 'nested', 'deeper', 'drp.db');
  const first = openSqliteStore({ path });
  await first.commit([
    machine('m-1', 1),
    { kind: 'job.put', job },
    {
      kind: 'log.append',
      entries: [{ jobId: 'j-1', seq: 1, at: T, level: 'info', message: 'hi' }],
    },
  ]);
  await first.close();

  const second = openSqliteStore({ path });
  t.teardown(() => second.close());

  t.match(await second.getObject('m-1'), { version: 1, data: { n: 1 } });
  t.strictSame(await second.getJob('j-1'), job);
  t.match(await second.jobLogs('j-1'), [{ seq: 1, message: 'hi' }]);
  t.match(await second.commit([machine('m-1', 2)]), [
    { ok: true, object: { version: 2 } },
  ]);
});

t.test(
  'sqlite store - file is in WAL mode with a schema version',
  async (t) => {
    const path = join(t.testdir(), 'drp.db');
    await openSqliteStore({ path }).close();

    const raw = new Database(path, { readonly: true });
    t.teardown(() => raw.close());

    t.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    t.equal(
      raw.pragma('user_version', { simple: true }),
      SQLITE_SCHEMA_VERSION,
    );
    const tables = raw
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
      .all();
    t.strictSame(tables, [
      { name: 'job_logs' },
      { name: 'jobs' },
      { name: 'objects' },
    ]);
  },
);

t.test('sqlite store - a version 1 database is migrated', async (t) => {
  const path = join(t.testdir(), 'drp.db');
  const raw = new Database(path);
  migrate(raw, 1);
  raw
    .prepare(
      `INSERT INTO jobs (id, root_id, action, status, params, created_at)
       VALUES ('old-1', 'old-1', 'machine.start', 'done', '{}', ?)`,
    )
    .run(T);
  raw.close();

  const store = openSqliteStore({ path });
  t.teardown(() => store.close());

  t.match(await store.getJob('old-1'), {
    id: 'old-1',
    status: 'done',
    idempotencyKey: null,
    owner: null,
  });
  t.strictSame(await store.commit([{ kind: 'job.put', job }]), [{ ok: true }]);
  t.strictSame(await store.getJobByKey('k-1'), job);
  t.strictSame(
    (await store.listJobs({ owner: 'engine-1' })).map((j) => j.id),
    ['j-1'],
  );
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), 2);
  const indexes = check.pragma('index_list(jobs)') as IndexInfo[];
  const byName = (name: string) => indexes.find((i) => i.name === name);
  t.match(byName('jobs_idempotency_key'), { unique: 1, partial: 1 });
  t.ok(byName('jobs_owner_status_id'), 'jobs are indexed by owner');
});

t.test(
  'sqlite store - the unique key index backs the DUPLICATE check',
  async (t) => {
    const path = join(t.testdir(), 'drp.db');
    await openSqliteStore({ path }).close();
    const raw = new Database(path);
    t.teardown(() => raw.close());
    const insert = raw.prepare(
      `INSERT INTO jobs (id, root_id, action, status, params, created_at,
       idempotency_key) VALUES (?, ?, 'a', 'done', '{}', 1, ?)`,
    );

    insert.run('j-1', 'j-1', 'k-1');
    insert.run('j-2', 'j-2', null);
    insert.run('j-3', 'j-3', null);

    t.throws(() => insert.run('j-4', 'j-4', 'k-1'), {
      code: 'SQLITE_CONSTRAINT_UNIQUE',
    });
  },
);

t.test('sqlite store - getJobByKey of a non-string is BAD_QUERY', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());

  await t.rejects(store.getJobByKey(7 as unknown as string), {
    code: 'BAD_QUERY',
  });
});

t.test('sqlite store - a newer schema refuses to open', async (t) => {
  const path = join(t.testdir(), 'drp.db');
  await openSqliteStore({ path }).close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
  raw.close();

  t.throws(() => openSqliteStore({ path }), { code: 'STORE_ERROR' });
});

t.test('sqlite store - an unusable path throws STORE_ERROR', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a folder' });

  t.throws(() => openSqliteStore({ path: join(dir, 'a-file', 'drp.db') }), {
    code: 'STORE_ERROR',
  });
});

t.test(
  'sqlite store - an SQLite error rolls back the whole batch',
  async (t) => {
    const path = join(t.testdir(), 'drp.db');
    const store = openSqliteStore({ path });
    t.teardown(() => store.close());
    const other = new Database(path);
    t.teardown(() => other.close());
    // A trigger makes the last write of the batch fail inside SQLite.
    other.exec(`CREATE TRIGGER explode BEFORE INSERT ON job_logs
    WHEN NEW.message = 'explode' BEGIN SELECT RAISE(ABORT, 'boom'); END`);

    const batch = store.commit([
      machine('m-1', 1),
      { kind: 'job.put', job },
      {
        kind: 'log.append',
        entries: [
          { jobId: 'j-1', seq: 1, at: T, level: 'info', message: 'explode' },
        ],
      },
    ]);

    await t.rejects(batch, { code: 'STORE_ERROR', retryable: false });
    t.equal(await store.getObject('m-1'), null);
    t.equal(await store.getJob('j-1'), null);
    t.strictSame(other.prepare('SELECT guid FROM objects').all(), []);
    t.strictSame(other.prepare('SELECT id FROM jobs').all(), []);
  },
);

t.test('sqlite store - a locked database is a retryable error', async (t) => {
  const path = join(t.testdir(), 'drp.db');
  const store = openSqliteStore({ path, busyTimeoutMs: 20 });
  t.teardown(() => store.close());
  const other = new Database(path);
  t.teardown(() => other.close());

  other.exec('BEGIN IMMEDIATE');
  await t.rejects(store.commit([machine('m-1', 1)]), {
    code: 'STORE_ERROR',
    retryable: true,
  });
  other.exec('ROLLBACK');

  t.match(await store.commit([machine('m-1', 1)]), [{ ok: true }]);
});

t.test('sqlite store - a failing read is STORE_ERROR', async (t) => {
  const path = join(t.testdir(), 'drp.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  const other = new Database(path);
  t.teardown(() => other.close());

  other.exec('DROP TABLE job_logs');

  await t.rejects(store.jobLogs('j-1'), { code: 'STORE_ERROR' });
});

t.test('sqlite store - jobTree stops at a broken parent cycle', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const a = { ...job, id: 'a', parentId: 'b', rootId: 'r' };
  const b = {
    ...job,
    id: 'b',
    idempotencyKey: null,
    parentId: 'a',
    rootId: 'r',
  };
  await store.commit([
    { kind: 'job.put', job: a },
    { kind: 'job.put', job: b },
  ]);

  t.strictSame(await store.jobTree('a'), [a, b]);
});
