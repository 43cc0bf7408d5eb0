import t from 'tap';
import { createActor, fromCallback, type AnyActorRef } from 'xstate';

import {
  supervisorMachine,
  type ChildFailure,
  type SupervisorEvent,
} from '../../actors/supervisor.js';
import { SimulatedClock } from '../../runtime/clock.js';
import { silentLogger } from '../../runtime/log.js';
import { Mailbox } from '../../runtime/mailbox.js';

// A child that fails when told to; counts how often it was started.
function crashable(starts: { count: number }) {
  return fromCallback(({ receive }) => {
    starts.count++;
    receive((event) => {
      if (event.type === 'crash') throw new Error('boom');
    });
  });
}

function start(clock: SimulatedClock, starts: { count: number }) {
  const failures: ChildFailure[] = [];
  const errors: unknown[] = [];
  const actor = createActor(supervisorMachine, {
    input: {
      name: 'root',
      logger: silentLogger(),
      clock,
      intensity: { maxRestarts: 2, withinMs: 1000 },
      children: [
        { id: 'worker', logic: crashable(starts), restart: 'permanent' },
      ],
      onChildFailed: (failure) => failures.push(failure),
    },
  });
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  const child = () =>
    actor.getSnapshot().children.worker as AnyActorRef | undefined;
  return { actor, failures, errors, child };
}

t.test('supervisor - restarts a crashed permanent child', async (t) => {
  const clock = new SimulatedClock();
  const starts = { count: 0 };
  const { actor, failures, child } = start(clock, starts);

  child()!.send({ type: 'crash' });

  t.equal(starts.count, 2, 'child started again');
  t.equal(failures.length, 1, 'failure reported');
  t.equal(failures[0]!.childId, 'worker');
  t.equal(failures[0]!.error.message, 'boom');
  t.ok(failures[0]!.restarted);
  t.equal(actor.getSnapshot().status, 'active');
  actor.stop();
});

t.test('supervisor - escalates past the restart intensity', async (t) => {
  const clock = new SimulatedClock();
  const starts = { count: 0 };
  const { actor, errors, child } = start(clock, starts);

  child()!.send({ type: 'crash' });
  clock.advance(10);
  child()!.send({ type: 'crash' });
  clock.advance(10);
  t.equal(actor.getSnapshot().status, 'active', 'two restarts allowed');
  child()!.send({ type: 'crash' });

  t.equal(actor.getSnapshot().status, 'error');
  t.equal(errors.length, 1);
  t.match(errors[0], { code: 'SUPERVISOR_ESCALATED' });
});

t.test(
  'supervisor - restarts spread out in time do not escalate',
  async (t) => {
    const clock = new SimulatedClock();
    const starts = { count: 0 };
    const { actor, child } = start(clock, starts);

    for (let i = 0; i < 6; i++) {
      child()!.send({ type: 'crash' });
      clock.advance(600);
    }

    t.equal(actor.getSnapshot().status, 'active');
    t.equal(starts.count, 7);
    actor.stop();
  },
);

t.test(
  'supervisor - temporary children are reported, not restarted',
  async (t) => {
    const clock = new SimulatedClock();
    const starts = { count: 0 };
    const { actor, failures } = start(clock, { count: 0 });

    actor.send({
      type: 'supervisor.spawn',
      child: { id: 'job:1', logic: crashable(starts), restart: 'temporary' },
    });
    const job = actor.getSnapshot().children['job:1'] as AnyActorRef;
    job.send({ type: 'crash' });

    t.equal(starts.count, 1);
    t.equal(failures.at(-1)?.childId, 'job:1');
    t.equal(failures.at(-1)?.restarted, false);
    t.notOk(actor.getSnapshot().children['job:1'], 'child removed');
    actor.stop();
  },
);

t.test(
  'supervisor - takes spawn and stop requests from its mailbox',
  async (t) => {
    const mailbox = new Mailbox<SupervisorEvent>({
      name: 'supervisor',
      capacity: 1,
      overflow: 'reject',
    });
    const starts = { count: 0 };
    const actor = createActor(supervisorMachine, {
      input: {
        name: 'root',
        mailbox,
        logger: silentLogger(),
        clock: new SimulatedClock(),
      },
    }).start();

    mailbox.send({
      type: 'supervisor.spawn',
      child: { id: 'w', logic: crashable(starts), restart: 'permanent' },
    });
    t.throws(() => mailbox.send({ type: 'supervisor.stop', id: 'w' }), {
      code: 'MAILBOX_FULL',
    });
    await Promise.resolve();

    t.equal(starts.count, 1, 'spawned once delivered');
    t.ok(actor.getSnapshot().children.w);
    mailbox.send({ type: 'supervisor.stop', id: 'w' });
    await Promise.resolve();
    t.notOk(actor.getSnapshot().children.w, 'stopped');
    t.equal(mailbox.depth, 0);
    actor.stop();
  },
);
