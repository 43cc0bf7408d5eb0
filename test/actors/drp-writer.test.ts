import t from 'tap';
import { createActor } from 'xstate';

import {
  drpWriterMachine,
  type WriteRequest,
} from '../../actors/drp-writer.js';
import { openSqliteStore } from '../../runtime/drp/sqlite-store.js';
import type { Store, Write } from '../../runtime/drp/types.js';
import { DrpWriterClient } from '../../runtime/drp/writer-client.js';
import { WfeError } from '../../runtime/errors.js';
import { silentLogger } from '../../runtime/log.js';
import { Mailbox } from '../../runtime/mailbox.js';
import { LocalBus } from '../../runtime/bus/local.js';
import { serveWriter } from '../../runtime/drp/writer-service.js';

function startWriter(store: Store, maxBatch = 100) {
  const mailbox = new Mailbox<WriteRequest>({
    name: 'drp-writer',
    capacity: 1000,
    overflow: 'wait',
  });
  const batches: number[] = [];
  const counting: Store = {
    ...store,
    kind: store.kind,
    commit: (writes) => {
      batches.push(writes.length);
      return store.commit(writes);
    },
  };
  const actor = createActor(drpWriterMachine, {
    input: { store: counting, mailbox, logger: silentLogger(), maxBatch },
  }).start();
  return { actor, client: writerClientFor(mailbox), batches };
}

const save = (guid: string, version = 0): Write => ({
  kind: 'object.save',
  guid,
  type: 'thing',
  data: { guid },
  expectedVersion: version,
  at: 1,
});

t.test('drp-writer - commits in batches, answers each write', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  const { actor, client, batches } = startWriter(store, 100);

  const outcomes = await Promise.all(
    Array.from({ length: 250 }, (_, i) => client.write(save(`g${i}`))),
  );

  t.equal(outcomes.length, 250);
  t.ok(outcomes.every((o) => o.ok));
  t.same(batches, [100, 100, 50]);
  t.equal((await store.findObjects({ limit: 1000 })).length, 250);
  actor.stop();
  await store.close();
});

t.test('drp-writer - a conflict fails only its own write', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  const { actor, client } = startWriter(store);

  const [first, again, other] = await Promise.all([
    client.write(save('a')),
    client.write(save('a')),
    client.write(save('b')),
  ]);

  t.ok(first.ok);
  t.match(again, { ok: false, error: { code: 'CONFLICT' } });
  t.ok(other.ok);
  await t.rejects(client.writeOrThrow(save('a', 7)), { code: 'CONFLICT' });
  actor.stop();
  await store.close();
});

t.test(
  'drp-writer - a failing store rejects the batch and goes on',
  async (t) => {
    const store = openSqliteStore({ path: ':memory:' });
    let fail = true;
    const flaky: Store = {
      ...store,
      kind: 'flaky',
      commit: (writes) =>
        fail
          ? Promise.reject(new WfeError('STORE_ERROR', 'disk gone'))
          : store.commit(writes),
    };
    const { actor, client } = startWriter(flaky);

    await t.rejects(client.write(save('x')), { code: 'STORE_ERROR' });
    fail = false;
    const after = await client.write(save('y'));

    t.ok(after.ok, 'the writer is still serving');
    t.equal(actor.getSnapshot().status, 'active');
    actor.stop();
    await store.close();
  },
);

/** A client reaching the writer's mailbox the way the engine's do. */
function writerClientFor(mailbox: Mailbox<WriteRequest>): DrpWriterClient {
  const bus = new LocalBus({ logger: silentLogger() });
  serveWriter(bus, mailbox);
  return new DrpWriterClient(bus);
}
