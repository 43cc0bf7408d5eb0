import t from 'tap';
import { createActor, fromCallback, type AnyActorRef } from 'xstate';

import { supervisorMachine } from '../../../actors/supervisor.js';
import { SimulatedClock } from '../../../runtime/clock.js';
import { WfeError } from '../../../runtime/errors.js';
import { introspection } from '../../../runtime/inspector/introspect.js';
import { silentLogger } from '../../../runtime/log.js';
import { Mailbox } from '../../../runtime/mailbox.js';

const crashable = fromCallback(({ receive }) => {
  receive(() => {
    throw new WfeError('DISK_GONE', 'the disk went away');
  });
});

t.test('a restarted child shows its restarts and last error', async (t) => {
  const clock = new SimulatedClock();
  const rootMailbox = new Mailbox<unknown>({
    name: 'supervisor',
    capacity: 64,
    overflow: 'reject',
  });
  const writerMailbox = new Mailbox<unknown>({
    name: 'drp-writer',
    capacity: 8,
    overflow: 'wait',
  });
  const root = createActor(supervisorMachine, {
    input: {
      name: 'root',
      logger: silentLogger(),
      clock,
      children: [{ id: 'drp-writer', logic: crashable, restart: 'permanent' }],
    },
  });
  root.start();
  t.teardown(() => root.stop());
  void writerMailbox.send('queued');

  clock.advance(1234);
  const child = root.getSnapshot().children['drp-writer'] as AnyActorRef;
  child.send({ type: 'anything' });

  const view = introspection({
    clock,
    root,
    rootMailbox,
    writerMailbox,
    runner: null,
    workflows: null,
    agents: null,
  });
  const tree = view.actorTree();

  t.match(tree, { id: 'root', kind: 'supervisor', state: 'running' });
  t.same(
    tree.children.map((node) => node.id),
    ['drp-writer'],
    'only the supervised child: not the mailbox reader it invokes',
  );
  t.match(tree.children[0], {
    kind: 'writer',
    restarts: 1,
    lastError: { code: 'DISK_GONE', message: 'the disk went away', at: 1234 },
    mailbox: { name: 'drp-writer', depth: 1, capacity: 8, overflow: 'wait' },
  });
  t.same(view.agents(), [], 'no agents without an agent controller');
  t.same(view.jobCounts(), { running: 0, started: 0, finished: 0 });
});
