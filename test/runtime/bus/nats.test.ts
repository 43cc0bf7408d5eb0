import type { NatsConnection } from 'nats';
import t, { type Test } from 'tap';

import { connectNats } from '../../../runtime/bus/connect.js';
import { NatsBus } from '../../../runtime/bus/nats.js';
import { WfeError } from '../../../runtime/errors.js';
import { silentLogger } from '../../../runtime/log.js';
import { natsServer } from '../../helpers/nats.js';

const logger = silentLogger();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const server = await natsServer(t, { jetstream: false });

/** A bus on its own connection, closed when the test ends. */
async function busOn(t: Test, url = server.url): Promise<NatsBus> {
  const connection = await connectNats({ url }, logger);
  const bus = new NatsBus({ connection, logger });
  t.teardown(async () => {
    await bus.close();
    await connection.close();
  });
  return bus;
}

async function rejection(attempt: Promise<unknown>): Promise<WfeError> {
  try {
    await attempt;
  } catch (err) {
    if (err instanceof WfeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** Raw request, as a client that is not a NatsBus would send it. */
async function rawRequest(
  nc: NatsConnection,
  subject: string,
  text: string,
): Promise<unknown> {
  const reply = await nc.request(subject, encoder.encode(text), {
    timeout: 2000,
  });
  return JSON.parse(decoder.decode(reply.data));
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

t.test('nats bus - request and reply between processes', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  t.equal(a.kind, 'nats');

  a.serve('math.add', (message, subject) => {
    const { x, y } = message as { x: number; y: number };
    return { sum: x + y, subject };
  });
  a.serve('math.nothing', () => undefined);
  await a.connection.flush();

  t.same(await b.request('math.add', { x: 2, y: 3 }), {
    sum: 5,
    subject: 'math.add',
  });
  t.equal(
    await b.request('math.nothing', undefined),
    undefined,
    'undefined travels as an empty payload',
  );
});

t.test('nats bus - error replies keep code and message', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);

  a.serve('fail.wfe', () => {
    throw new WfeError('NOPE', 'no way', {
      retryable: true,
      details: { why: 'test' },
      cause: new WfeError('ROOT', 'the root'),
    });
  });
  a.serve('fail.coded', async () => {
    throw Object.assign(new Error('disk full'), { code: 'ENOSPC_LIKE' });
  });
  a.serve('fail.plain', () => {
    throw new Error('boom');
  });
  a.serve('fail.unencodable', () => ({ big: 1n }));
  a.serve('fail.unencodable.details', () => {
    throw new WfeError('ODD', 'odd details', { details: { big: 2n } });
  });
  await a.connection.flush();

  const wfe = await rejection(b.request('fail.wfe', {}));
  t.equal(wfe.code, 'NOPE');
  t.equal(wfe.message, 'no way');
  t.equal(wfe.retryable, true);
  t.same(wfe.details, { why: 'test' });
  t.match(wfe.cause, { code: 'ROOT', message: 'the root' });

  const coded = await rejection(b.request('fail.coded', {}));
  t.equal(coded.code, 'ENOSPC_LIKE');
  t.equal(coded.message, 'disk full');
  t.equal(coded.retryable, false);

  const plain = await rejection(b.request('fail.plain', {}));
  t.equal(plain.code, 'INTERNAL');
  t.equal(plain.message, 'boom');

  const reply = await rawRequest(b.connection, 'fail.plain', '{}');
  t.notMatch(JSON.stringify(reply), /at .*\.ts/, 'no stack trace on the wire');

  const unencodable = await rejection(b.request('fail.unencodable', {}));
  t.equal(unencodable.code, 'BAD_REPLY');
  const odd = await rejection(b.request('fail.unencodable.details', {}));
  t.equal(odd.code, 'BAD_REPLY', 'an error that cannot travel still answers');
});

t.test('nats bus - bad requests get error answers', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  let calls = 0;
  a.serve(
    'guarded',
    () => {
      calls++;
      return 'ok';
    },
    { maxBytes: 16 },
  );
  await a.connection.flush();

  t.match(await rawRequest(b.connection, 'guarded', '{not json'), {
    error: { code: 'BAD_JSON', message: /not JSON/ },
  });
  t.match(
    await rawRequest(b.connection, 'guarded', JSON.stringify('x'.repeat(40))),
    {
      error: { code: 'PAYLOAD_TOO_LARGE', message: /42 bytes.*at most 16/ },
    },
  );
  const large = await rejection(b.request('guarded', 'y'.repeat(40)));
  t.equal(large.code, 'PAYLOAD_TOO_LARGE');

  b.connection.publish('guarded', encoder.encode('"no reply"'));
  t.equal(await b.request('guarded', 'small'), 'ok');
  t.equal(calls, 1, 'only the good request reached the handler');
});

t.test('nats bus - replies that are not JSON', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  a.connection.subscribe('raw.garbage', {
    callback: (_err, msg) => msg.respond(encoder.encode('<html>')),
  });
  await a.connection.flush();

  const err = await rejection(b.request('raw.garbage', {}));
  t.equal(err.code, 'BAD_REPLY');
});

t.test('nats bus - no responders and timeouts', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  const never = gate();
  t.teardown(never.open);
  a.serve('slow', () => never.promise);
  await a.connection.flush();

  const none = await rejection(b.request('nobody.home', {}));
  t.equal(none.code, 'NO_RESPONDERS');
  t.equal(none.retryable, true);

  const late = await rejection(b.request('slow', {}, { timeoutMs: 100 }));
  t.equal(late.code, 'BUS_TIMEOUT');
  t.equal(late.retryable, true);
  t.match(late.message, /100 ms/);

  const sub = a.serve('gone', () => 'here');
  await a.connection.flush();
  t.equal(await b.request('gone', {}), 'here');
  sub.unsubscribe();
  await a.connection.flush();
  t.equal((await rejection(b.request('gone', {}))).code, 'NO_RESPONDERS');
});

t.test('nats bus - handlers run concurrently', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  const release = gate();
  let entered = 0;
  const bothIn = gate();
  a.serve('concurrent', async (message) => {
    entered++;
    if (entered === 2) bothIn.open();
    await release.promise;
    return message;
  });
  await a.connection.flush();

  const first = b.request('concurrent', 1);
  const second = b.request('concurrent', 2);
  await bothIn.promise;
  t.equal(entered, 2, 'the second request started before the first ended');
  release.open();
  t.same(await Promise.all([first, second]), [1, 2]);
});

t.test('nats bus - a queue group shares the work', async (t) => {
  const one = await busOn(t);
  const two = await busOn(t);
  const client = await busOn(t);
  const counts = { one: 0, two: 0 };
  one.serve('work', () => ++counts.one && 'one', { queue: 'workers' });
  two.serve('work', () => ++counts.two && 'two', { queue: 'workers' });
  await Promise.all([one.connection.flush(), two.connection.flush()]);

  const answers = await Promise.all(
    Array.from({ length: 40 }, () => client.request('work', {})),
  );
  t.equal(answers.length, 40);
  t.equal(counts.one + counts.two, 40, 'each request answered once');
  t.ok(counts.one > 0 && counts.two > 0, 'both members took work');
});

t.test('nats bus - subscribe with wildcards', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  const seen: string[] = [];
  const done = gate();
  a.subscribe('events.*.done', (message, subject) => {
    seen.push(`star ${subject} ${JSON.stringify(message)}`);
  });
  a.subscribe('events.>', (_message, subject) => {
    seen.push(`tail ${subject}`);
    if (subject === 'events.end') done.open();
  });
  a.subscribe('events.x.done', () => {
    throw new Error('subscriber bug');
  });
  a.subscribe('events.x.done', async () => {
    throw new Error('async subscriber bug');
  });
  await a.connection.flush();

  b.connection.publish('events.bad', encoder.encode('{oops'));
  b.publish('events.x.done', { n: 1 });
  b.publish('events.x.y.done', { n: 2 });
  b.publish('events.end', undefined);
  await done.promise;

  t.same(
    seen.sort(),
    [
      'star events.x.done {"n":1}',
      'tail events.end',
      'tail events.x.done',
      'tail events.x.y.done',
    ],
    'bad JSON skipped, failing subscribers do not stop delivery',
  );
});

t.test('nats bus - queue subscribers get each message once', async (t) => {
  const one = await busOn(t);
  const two = await busOn(t);
  const sender = await busOn(t);
  let received = 0;
  const all = gate();
  const count = () => {
    if (++received === 20) all.open();
  };
  one.subscribe('jobs.ready', count, { queue: 'q' });
  two.subscribe('jobs.ready', count, { queue: 'q' });
  await Promise.all([one.connection.flush(), two.connection.flush()]);

  for (let i = 0; i < 20; i++) sender.publish('jobs.ready', { i });
  await all.promise;
  await Promise.all([one.connection.flush(), two.connection.flush()]);
  t.equal(received, 20);
});

t.test('nats bus - publish checks what it sends', async (t) => {
  const a = await busOn(t);
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  for (const bad of [circular, 1n, () => 1]) {
    t.throws(() => a.publish('x', bad), { code: 'BAD_MESSAGE' });
  }
  await t.rejects(a.request('x', 1n), { code: 'BAD_MESSAGE' });
  t.throws(() => a.publish('', {}), { code: 'BAD_SUBJECT' });
  await t.rejects(a.request('a..b', {}), { code: 'BAD_SUBJECT' });
  t.throws(() => a.serve('bad subject', () => 1), { code: 'BAD_SUBJECT' });
});

t.test('nats bus - close', async (t) => {
  const a = await busOn(t);
  const b = await busOn(t);
  const never = gate();
  t.teardown(never.open);
  a.serve('hang', () => never.promise);
  await a.connection.flush();

  const pending = b.request('hang', {}, { timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = b.close();
  t.equal(b.close(), closing, 'a second close waits on the first');
  await closing;

  t.equal((await rejection(pending)).code, 'BUS_CLOSED', 'in flight');
  t.equal((await rejection(b.request('hang', {}))).code, 'BUS_CLOSED');
  t.throws(() => b.serve('later', () => 1), { code: 'BUS_CLOSED' });
  t.doesNotThrow(() => b.publish('later', {}), 'publish is a no-op');

  await a.close();
  t.equal(a.connection.isClosed(), false, 'the connection stays open');
  await a.connection.close();
  t.doesNotThrow(() => a.publish('later', {}));
});

t.test('nats bus - a closed connection', async (t) => {
  const a = await busOn(t);
  const sub = a.subscribe('x', () => {});
  await a.connection.close();

  t.equal((await rejection(a.request('x', {}))).code, 'BUS_CLOSED');
  t.doesNotThrow(() => a.publish('x', {}), 'events never crash');
  t.throws(() => a.subscribe('y', () => {}), { code: 'BUS_CLOSED' });
  t.doesNotThrow(() => sub.unsubscribe());
  await t.resolves(a.close());
});

t.test('nats bus - requests work again after a restart', async (t) => {
  const own = await natsServer(t, { jetstream: false });
  const a = await busOn(t, own.url);
  const b = await busOn(t, own.url);
  a.serve('echo', (message) => message);
  await a.connection.flush();
  t.equal(await b.request('echo', 'before'), 'before');

  const reconnected = Promise.all([a, b].map((bus) => reconnect(bus)));
  await own.restart();
  await reconnected;

  await a.connection.flush();
  t.equal(await b.request('echo', 'after'), 'after');
});

async function reconnect(bus: NatsBus): Promise<void> {
  for await (const status of bus.connection.status()) {
    if (status.type === 'reconnect') return;
  }
}

t.test('nats bus - messages over the server limit', async (t) => {
  const small = await natsServer(t, { jetstream: false, maxPayload: 1024 });
  const a = await busOn(t, small.url);
  const big = 'z'.repeat(2000);

  t.throws(() => a.publish('big', big), { code: 'PAYLOAD_TOO_LARGE' });
  await t.rejects(a.request('big', big), { code: 'PAYLOAD_TOO_LARGE' });
});
