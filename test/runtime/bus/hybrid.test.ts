import t, { type Test } from 'tap';

import { connectNats } from '../../../runtime/bus/connect.js';
import { HybridBus } from '../../../runtime/bus/hybrid.js';
import { LocalBus } from '../../../runtime/bus/local.js';
import { NatsBus } from '../../../runtime/bus/nats.js';
import { silentLogger } from '../../../runtime/log.js';
import { natsServer } from '../../helpers/nats.js';

const logger = silentLogger();
const server = await natsServer(t, { jetstream: false });

/** One process's bus: a local bus plus its own NATS connection. */
async function processBus(t: Test): Promise<HybridBus> {
  const connection = await connectNats({ url: server.url }, logger);
  const bus = new HybridBus({
    local: new LocalBus({ logger }),
    nats: new NatsBus({ connection, logger }),
  });
  t.teardown(async () => {
    await bus.close();
    await connection.close();
  });
  return bus;
}

function settle(...buses: HybridBus[]): Promise<unknown> {
  return Promise.all(buses.map((bus) => bus.nats.connection.flush()));
}

/**
 * A flush's answer queues behind the messages the server already sent
 * that connection: flushing a, b, a again lets every message published
 * on either one arrive.
 */
async function delivered(a: HybridBus, b: HybridBus): Promise<void> {
  await settle(a);
  await settle(b);
  await settle(a);
}

t.test('hybrid bus - a local server answers first', async (t) => {
  const here = await processBus(t);
  const there = await processBus(t);
  t.equal(here.kind, 'hybrid');

  const payload = { big: 'object' };
  let seen: unknown;
  here.serve('who', (message) => {
    seen = message;
    return 'here';
  });
  there.serve('who', () => 'there');
  await settle(here, there);

  t.equal(await here.request('who', payload), 'here');
  t.equal(seen, payload, 'handed over in-process, without copying');
  t.equal(await there.request('who', {}), 'there');
});

t.test('hybrid bus - falls back to NATS', async (t) => {
  const here = await processBus(t);
  const there = await processBus(t);
  const sub = there.serve('remote.only', (message) => ({ echo: message }));
  await settle(there);

  t.same(await here.request('remote.only', 'hi'), { echo: 'hi' });

  sub.unsubscribe();
  await settle(there);
  await t.rejects(here.request('remote.only', 'hi'), {
    code: 'NO_RESPONDERS',
  });
  await t.rejects(here.request('nobody', {}), { code: 'NO_RESPONDERS' });
});

t.test('hybrid bus - publish reaches each subscriber once', async (t) => {
  const here = await processBus(t);
  const there = await processBus(t);
  const got: string[] = [];
  here.subscribe('news.*', (message, subject) =>
    got.push(`here ${subject} ${String(message)}`),
  );
  there.subscribe('news.*', (message, subject) =>
    got.push(`there ${subject} ${String(message)}`),
  );
  await settle(here, there);

  here.publish('news.a', 1);
  there.publish('news.b', 2);
  await delivered(here, there);

  t.same(got.sort(), [
    'here news.a 1',
    'here news.b 2',
    'there news.a 1',
    'there news.b 2',
  ]);
});

t.test('hybrid bus - unsubscribe and close', async (t) => {
  const here = await processBus(t);
  const there = await processBus(t);
  let count = 0;
  const sub = here.subscribe('tick', () => count++);
  await settle(here);
  sub.unsubscribe();
  await settle(here);

  here.publish('tick', {});
  there.publish('tick', {});
  await delivered(here, there);
  t.equal(count, 0, 'neither bus delivers after unsubscribe');

  t.throws(() => here.publish('tick', 1n), { code: 'BAD_MESSAGE' });

  await here.close();
  await t.rejects(here.request('tick', {}), { code: 'BUS_CLOSED' });
  t.equal(here.local.serves('tick'), false);
});
