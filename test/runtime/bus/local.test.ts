import t from 'tap';

import { LocalBus } from '../../../runtime/bus/local.js';
import { WfeError } from '../../../runtime/errors.js';
import { silentLogger } from '../../../runtime/log.js';

const logger = silentLogger();

function bus(): LocalBus {
  return new LocalBus({ logger });
}

t.test('local bus - request and serve', async (t) => {
  const b = bus();
  t.equal(b.kind, 'local');
  const payload = { n: 1 };
  let seen: unknown;
  b.serve('calc.double', (message, subject) => {
    seen = message;
    return { n: (message as { n: number }).n * 2, subject };
  });
  b.serve('calc.async', async () => 'later');

  t.same(await b.request('calc.double', payload), {
    n: 2,
    subject: 'calc.double',
  });
  t.equal(seen, payload, 'handed over without copying');
  t.equal(await b.request('calc.async', null), 'later');
  t.equal(b.serves('calc.double'), true);
  t.equal(b.serves('calc.other'), false);
});

t.test('local bus - nobody serves the subject', async (t) => {
  const b = bus();
  const sub = b.serve('here', () => 1);
  sub.unsubscribe();
  sub.unsubscribe();

  await t.rejects(b.request('here', {}), {
    code: 'NO_RESPONDERS',
    retryable: true,
  });
  await t.rejects(b.request('nowhere', {}), { code: 'NO_RESPONDERS' });
});

t.test('local bus - handler errors keep their code', async (t) => {
  const b = bus();
  b.serve('sync', () => {
    throw new WfeError('NOPE', 'no way', { retryable: true });
  });
  b.serve('async', async () => {
    throw new WfeError('LATER', 'not now');
  });

  await t.rejects(b.request('sync', {}), {
    code: 'NOPE',
    message: 'no way',
    retryable: true,
  });
  await t.rejects(b.request('async', {}), { code: 'LATER' });
});

t.test('local bus - timeout option', async (t) => {
  const b = bus();
  b.serve('never', () => new Promise(() => {}));
  b.serve('quick', () => 'done');
  b.serve('fails', async () => {
    throw new WfeError('FAILED', 'failed');
  });

  const err = await b
    .request('never', {}, { timeoutMs: 20 })
    .catch((e: unknown) => e);
  t.match(err, { code: 'BUS_TIMEOUT', retryable: true });
  t.match((err as WfeError).message, /20 ms/);
  t.equal(await b.request('quick', {}, { timeoutMs: 1000 }), 'done');
  await t.rejects(b.request('fails', {}, { timeoutMs: 1000 }), {
    code: 'FAILED',
  });
});

t.test('local bus - queue members take turns', async (t) => {
  const b = bus();
  const served: string[] = [];
  b.serve('work', () => served.push('a'), { queue: 'q' });
  b.serve('work', () => served.push('b'), { queue: 'q' });
  for (let i = 0; i < 4; i++) await b.request('work', {});
  t.same(served, ['a', 'b', 'a', 'b'], 'requests round robin');

  const got: string[] = [];
  b.subscribe('job', () => got.push('x'), { queue: 'g' });
  b.subscribe('job', () => got.push('y'), { queue: 'g' });
  b.subscribe('job', () => got.push('all'));
  for (let i = 0; i < 4; i++) b.publish('job', i);
  t.same(
    got.filter((who) => who !== 'all'),
    ['x', 'y', 'x', 'y'],
    'one queue member per message',
  );
  t.equal(got.filter((who) => who === 'all').length, 4, 'plain gets all');
});

t.test('local bus - wildcards', async (t) => {
  const b = bus();
  const got: string[] = [];
  b.subscribe('orders.*.paid', (_m, subject) => got.push(`star ${subject}`));
  b.subscribe('orders.>', (_m, subject) => got.push(`tail ${subject}`));
  b.subscribe('orders', (_m, subject) => got.push(`exact ${subject}`));

  b.publish('orders.7.paid', {});
  b.publish('orders.7.paid.late', {});
  b.publish('orders', {});
  b.publish('other.7.paid', {});
  t.same(got, [
    'star orders.7.paid',
    'tail orders.7.paid',
    'tail orders.7.paid.late',
    'exact orders',
  ]);

  b.serve('svc.*', (_m, subject) => subject);
  t.equal(await b.request('svc.one', {}), 'svc.one');
  t.equal(b.serves('svc.one.two'), false);
  const wild = b.subscribe('x.>', () => got.push('x'));
  wild.unsubscribe();
  b.publish('x.y', {});
  t.notOk(got.includes('x'), 'a wildcard subscriber can leave');
});

t.test('local bus - a failing subscriber does not break publish', async (t) => {
  const b = bus();
  const got: number[] = [];
  b.subscribe('tick', () => {
    throw new Error('subscriber bug');
  });
  b.subscribe('tick', (message) => got.push(message as number));

  t.doesNotThrow(() => b.publish('tick', 1));
  t.doesNotThrow(() => b.publish('nobody.listens', 2));
  t.same(got, [1]);
});

t.test('local bus - close', async (t) => {
  const b = bus();
  const got: unknown[] = [];
  b.serve('svc', () => 1);
  b.subscribe('tick', (m) => got.push(m));
  await b.close();

  await t.rejects(b.request('svc', {}), { code: 'BUS_CLOSED' });
  b.publish('tick', 1);
  t.same(got, [], 'nothing delivered after close');
  t.equal(b.serves('svc'), false);
});
