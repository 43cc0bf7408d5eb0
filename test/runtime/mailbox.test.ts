import t from 'tap';

import { Mailbox } from '../../runtime/mailbox.js';
import { WfeError } from '../../runtime/errors.js';

t.test('mailbox - reject policy throws MAILBOX_FULL', async (t) => {
  const mailbox = new Mailbox<number>({
    name: 'm',
    capacity: 2,
    overflow: 'reject',
  });

  mailbox.send(1);
  mailbox.send(2);

  t.throws(() => mailbox.send(3), { code: 'MAILBOX_FULL', retryable: true });
  t.equal(mailbox.depth, 2);
  t.same(mailbox.take(), [1, 2]);
  t.match(mailbox.stats(), { rejected: 1, delivered: 2, highWater: 2 });
});

t.test('mailbox - wait policy holds senders until there is room', async (t) => {
  const mailbox = new Mailbox<number>({
    name: 'm',
    capacity: 2,
    overflow: 'wait',
  });

  t.equal(mailbox.send(1), undefined);
  t.equal(mailbox.send(2), undefined);
  let admitted = false;
  const waiting = mailbox.send(3)!.then(() => (admitted = true));
  await Promise.resolve();
  t.notOk(admitted, 'still waiting');
  t.equal(mailbox.stats().waitingSenders, 1);

  t.same(mailbox.take(1), [1]);
  await waiting;

  t.ok(admitted);
  t.same(mailbox.take(), [2, 3], 'order kept');
});

t.test('mailbox - the consumer hears once per burst', async (t) => {
  const mailbox = new Mailbox<number>({
    name: 'm',
    capacity: 100,
    overflow: 'reject',
  });
  const batches: number[][] = [];
  mailbox.consume(() => batches.push(mailbox.take()));

  for (let i = 0; i < 5; i++) mailbox.send(i);
  await Promise.resolve();
  mailbox.send(5);
  await Promise.resolve();

  t.same(batches, [[0, 1, 2, 3, 4], [5]]);
});

t.test('mailbox - close refuses senders, waiting ones too', async (t) => {
  const mailbox = new Mailbox<number>({
    name: 'm',
    capacity: 1,
    overflow: 'wait',
  });
  mailbox.send(1);
  const waiting = mailbox.send(2)!;

  const left = mailbox.close(new WfeError('SHUTTING_DOWN', 'closing'));

  t.same(left, [1]);
  await t.rejects(waiting, { code: 'SHUTTING_DOWN' });
  t.throws(() => mailbox.send(3), { code: 'SHUTTING_DOWN' });
});

t.test('mailbox - capacity must be a positive integer', async (t) => {
  t.throws(() => new Mailbox({ name: 'x', capacity: 0, overflow: 'reject' }), {
    code: 'BAD_CONFIG',
  });
});
