import { MongoClient } from 'mongodb';
import t from 'tap';

import type { LeaseDoc } from '../../../runtime/drp/mongo-lease.js';
import { openMongoStore } from '../../../runtime/drp/mongo-store.js';
import type { Write } from '../../../runtime/drp/types.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';

const server = await mongoServer(t);
const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5_000 });
t.teardown(() => client.close());

function database(): { name: string; url: string } {
  const name = freshDatabaseName('lease');
  return { name, url: `${server.url.replace(/\/?$/, '/')}${name}` };
}

const save: Write = {
  kind: 'object.save',
  guid: 'm-1',
  type: 'machine',
  data: {},
  expectedVersion: 0,
  at: 1,
};

t.test('a second writer is refused while the first lives', async (t) => {
  const { url } = database();
  const first = await openMongoStore({ url, writer: { owner: 'engine-a' } });
  t.teardown(() => first.close());

  await t.rejects(openMongoStore({ url, writer: { owner: 'engine-b' } }), {
    code: 'DRP_LOCKED',
    message: /writer already: engine engine-a \(pid \d+ on .+\)/,
    details: { owner: 'engine-a' },
  });

  const reader = await openMongoStore({ url });
  t.teardown(() => reader.close());
  t.equal(await reader.getObject('m-1'), null, 'readers need no lease');

  await first.close();
  const second = await openMongoStore({ url, writer: { owner: 'engine-b' } });
  t.teardown(() => second.close());
  t.equal(
    second.previousOwner,
    undefined,
    'a released lease is not taken over',
  );
  t.match(await second.commit([save]), [{ ok: true }]);
});

t.test('the expired lease of a dead writer is taken over', async (t) => {
  const { name, url } = database();
  await (await openMongoStore({ url })).close();
  await client
    .db(name)
    .collection<LeaseDoc>('meta')
    .insertOne({
      _id: 'writer',
      owner: 'engine-dead',
      pid: 999_999,
      host: 'gone',
      since: Date.now() - 60_000,
      expiresAt: Date.now() - 1_000,
    });

  const store = await openMongoStore({ url, writer: { owner: 'engine-new' } });
  t.teardown(() => store.close());

  t.equal(store.previousOwner, 'engine-dead');
  t.match(await store.commit([save]), [{ ok: true }]);
});

t.test('a writer whose lease was taken stops writing', async (t) => {
  const { name, url } = database();
  const store = await openMongoStore({
    url,
    writer: { owner: 'engine-a', leaseTtlMs: 150 },
  });
  t.teardown(() => store.close());
  t.match(await store.commit([save]), [{ ok: true }]);

  // As if engine-a had stalled past its lease and engine-b took over.
  await client
    .db(name)
    .collection<LeaseDoc>('meta')
    .updateOne({ _id: 'writer' }, { $set: { owner: 'engine-b' } });
  await new Promise((resolve) => setTimeout(resolve, 300));

  await t.rejects(store.commit([{ ...save, expectedVersion: 1 }]), {
    code: 'STORE_FENCED',
    message: /another writer took over/,
  });
  t.match(await store.getObject('m-1'), { version: 1 }, 'reads still work');
  await store.close();
  const lease = await client
    .db(name)
    .collection<LeaseDoc>('meta')
    .findOne({ _id: 'writer' });
  t.equal(lease?.owner, 'engine-b', "closing leaves the new writer's lease");
});

t.test('the lease is renewed while the writer lives', async (t) => {
  const { name, url } = database();
  const store = await openMongoStore({
    url,
    writer: { owner: 'engine-a', leaseTtlMs: 200 },
  });
  t.teardown(() => store.close());

  await new Promise((resolve) => setTimeout(resolve, 600));

  const lease = await client
    .db(name)
    .collection<LeaseDoc>('meta')
    .findOne({ _id: 'writer' });
  t.ok(lease && lease.expiresAt > Date.now(), 'still ahead of the clock');
  await t.rejects(openMongoStore({ url, writer: { owner: 'engine-b' } }), {
    code: 'DRP_LOCKED',
  });
});
