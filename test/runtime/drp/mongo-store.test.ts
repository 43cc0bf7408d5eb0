import { MongoClient } from 'mongodb';
import t, { type Test } from 'tap';

import { openMongoStore } from '../../../runtime/drp/mongo-store.js';
import { MONGO_SCHEMA_VERSION } from '../../../runtime/drp/mongo-schema.js';
import type { Store, Write, WriteOutcome } from '../../../runtime/drp/types.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';
import { job, save as saveWrite, storeContract, T } from './store-contract.js';

const server = await mongoServer(t);

function databaseUrl(name = freshDatabaseName('store')): string {
  return new URL(name, server.url.replace(/\/?$/, '/')).toString();
}

async function open(t: Test, url = databaseUrl()): Promise<Store> {
  const store = await openMongoStore({ url });
  t.teardown(() => store.close());
  return store;
}

const save = (
  guid: string,
  data: Record<string, unknown>,
  expectedVersion = 0,
): Write => saveWrite(guid, 'machine', data, expectedVersion, T);

function refusal(outcome: WriteOutcome | undefined): string {
  return outcome && !outcome.ok
    ? `${outcome.error.code} ${outcome.error.message}`
    : 'ok';
}

t.test('mongodb store - contract', async (t) => {
  storeContract(t, () => openMongoStore({ url: databaseUrl() }));
});

t.test('field names MongoDB refuses fail alone, naming where', async (t) => {
  const store = await open(t);

  const outcomes = await store.commit([
    save('m-1', { ok: 1 }),
    save('m-2', { nested: { $where: 'x' } }),
    save('m-3', { list: [{ 'a.b': 1 }] }),
    { kind: 'job.put', job: job('j-1', { params: { $set: 1 } }) },
    { kind: 'job.put', job: job('j-2', { result: { 'x.y': true } }) },
    {
      kind: 'log.append',
      entries: [
        {
          jobId: 'j-3',
          seq: 1,
          at: T,
          level: 'info',
          message: 'm',
          data: { $a: 1 },
        },
      ],
    },
    { kind: 'job.put', job: job('j-4') },
  ]);

  t.match(outcomes[0], { ok: true });
  t.match(
    refusal(outcomes[1]),
    /^BAD_WRITE object m-2 data .*"\$where" at nested/,
  );
  t.match(
    refusal(outcomes[2]),
    /^BAD_WRITE object m-3 data .*"a\.b" at list\[0\]/,
  );
  t.match(refusal(outcomes[3]), /^BAD_WRITE job j-1 params .*"\$set"/);
  t.match(refusal(outcomes[4]), /^BAD_WRITE job j-2 result .*"x\.y"/);
  t.match(refusal(outcomes[5]), /^BAD_WRITE log entry j-3#1 data .*"\$a"/);
  t.match(outcomes[6], { ok: true });
  t.equal(await store.getObject('m-2'), null);
  t.equal(await store.getJob('j-1'), null);
  t.ok(await store.getJob('j-4'), 'the rest of the batch is stored');
});

t.test('documents over 16 MiB fail alone with their size', async (t) => {
  const store = await open(t);
  const big = 'x'.repeat(17 * 1024 * 1024);

  const outcomes = await store.commit([
    save('m-big', { big }),
    { kind: 'job.put', job: job('j-big', { params: { big } }) },
    save('m-small', { small: true }),
  ]);

  t.match(
    refusal(outcomes[0]),
    /^BAD_WRITE object m-big is \d+ bytes as BSON, over MongoDB's limit/,
  );
  t.match(refusal(outcomes[1]), /^BAD_WRITE job j-big is \d+ bytes/);
  t.match(outcomes[2], { ok: true, object: { version: 1 } });
  t.equal(await store.getObject('m-big'), null);
});

t.test('a held idempotency key fails alone in a batch of puts', async (t) => {
  const store = await open(t);
  await store.commit([
    { kind: 'job.put', job: job('j-0', { idempotencyKey: 'k' }) },
  ]);

  // Replaces run as one update command; the one refused must not take
  // the later ones down with it.
  const puts = ['j-1', 'j-2', 'j-3', 'j-4', 'j-5'].map((id) => ({
    kind: 'job.put' as const,
    job: job(id, { idempotencyKey: id === 'j-2' ? 'k' : `k-${id}` }),
  }));
  const outcomes = await store.commit(puts);

  t.match(outcomes[1], {
    ok: false,
    error: { code: 'DUPLICATE', details: { jobId: 'j-0' } },
  });
  for (const i of [0, 2, 3, 4]) t.strictSame(outcomes[i], { ok: true });
  const stored = await store.listJobs();
  t.strictSame(stored.map((j) => j.id).sort(), [
    'j-0',
    'j-1',
    'j-3',
    'j-4',
    'j-5',
  ]);
});

t.test('a waiting put of a job that exists replaces it', async (t) => {
  // A waiting job is put with an insert first; one that is there already
  // must still be replaced, in batch order.
  const store = await open(t);
  await store.commit([
    { kind: 'job.put', job: job('j-1', { status: 'done' }) },
  ]);

  const outcomes = await store.commit([
    { kind: 'job.put', job: job('j-1', { params: { again: true } }) },
    { kind: 'job.put', job: job('j-2') },
  ]);

  t.strictSame(outcomes, [{ ok: true }, { ok: true }]);
  t.match(await store.getJob('j-1'), {
    status: 'waiting',
    params: { again: true },
  });
  t.match(await store.getJob('j-2'), { status: 'waiting' });
});

t.test('opening', async (t) => {
  t.test('an unreachable server fails fast and says where', async (t) => {
    const started = Date.now();
    await t.rejects(
      openMongoStore({
        url: 'mongodb://127.0.0.1:1/wfe',
        serverSelectionTimeoutMs: 300,
      }),
      {
        code: 'STORE_UNREACHABLE',
        message: /mongodb:\/\/127\.0\.0\.1:1\/wfe within 300 ms/,
      },
    );
    t.ok(Date.now() - started < 5_000, 'it does not wait the driver default');
  });

  t.test('a malformed URL is BAD_CONFIG, with no password shown', async (t) => {
    for (const url of [
      'http://x/wfe',
      '',
      'mongodb://',
      'mongodb://u:secret@/db',
    ]) {
      const err = await openMongoStore({ url }).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      t.equal(err?.code, 'BAD_CONFIG', url);
      t.notMatch(err?.message ?? '', 'secret');
    }
  });

  t.test('a password never reaches the location or errors', async (t) => {
    const url = 'mongodb://me:s3cret@127.0.0.1:1/wfe';
    const err = (await openMongoStore({
      url,
      serverSelectionTimeoutMs: 200,
    }).catch((e: unknown) => e)) as Error;
    t.notMatch(err.message, 's3cret');
    t.match(err.message, 'mongodb://me:***@127.0.0.1:1/wfe');
  });

  t.test('it creates its indexes once and opens again', async (t) => {
    const name = freshDatabaseName('indexes');
    await (await openMongoStore({ url: databaseUrl(name) })).close();
    const store = await open(t, databaseUrl(name));
    t.equal(store.kind, 'mongodb');

    const client = new MongoClient(server.url, {
      serverSelectionTimeoutMS: 5_000,
    });
    t.teardown(() => client.close());
    const db = client.db(name);
    const names = async (collection: string) =>
      (await db.collection(collection).listIndexes().toArray())
        .map((i) => i.name)
        .sort();
    t.strictSame(await names('objects'), ['_id_', 'type_guid']);
    t.strictSame(await names('jobs'), [
      '_id_',
      'action_id',
      'idempotency_key',
      'owner_id',
      'parent_id',
      'root_id',
      'status_id',
    ]);
    t.strictSame(await names('job_logs'), ['_id_', 'job_seq']);
    t.match(await db.collection('meta').findOne({ _id: 'schema' as never }), {
      version: MONGO_SCHEMA_VERSION,
    });
  });

  t.test('a database of a newer schema is refused', async (t) => {
    const name = freshDatabaseName('newer');
    const client = new MongoClient(server.url, {
      serverSelectionTimeoutMS: 5_000,
    });
    t.teardown(() => client.close());
    await client
      .db(name)
      .collection<{ _id: string; version: number }>('meta')
      .insertOne({ _id: 'schema', version: MONGO_SCHEMA_VERSION + 1 });

    await t.rejects(openMongoStore({ url: databaseUrl(name) }), {
      code: 'STORE_TOO_NEW',
      message: /upgrade wfe/,
    });
  });
});
