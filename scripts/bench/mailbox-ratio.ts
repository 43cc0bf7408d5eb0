import { assign, createActor, setup, type EventObject } from 'xstate';

import { mailboxDelivery } from '../../actors/mailbox-reader.js';
import { Mailbox } from '../../runtime/mailbox.js';
import { check, median, nextTurn, ratePerSec } from './stats.js';

export interface MailboxRatioResult {
  directPerSec: number;
  mailboxPerSec: number;
  ratio: number;
}

const TICK: EventObject = { type: 'tick' };

/**
 * One counting machine for both variants; with no mailbox in its input the
 * delivery actor does nothing, so the direct variant pays nothing for it.
 */
const counterMachine = setup({
  types: {
    context: {} as { count: number; mailbox?: Mailbox<EventObject> },
    input: {} as { mailbox?: Mailbox<EventObject> },
  },
  actors: { mailboxDelivery },
}).createMachine({
  context: ({ input }) => ({ count: 0, mailbox: input.mailbox }),
  invoke: {
    src: 'mailboxDelivery',
    input: ({ context }) => ({ mailbox: context.mailbox }),
  },
  on: {
    tick: { actions: assign({ count: ({ context }) => context.count + 1 }) },
  },
});

async function runDirect(events: number): Promise<number> {
  const actor = createActor(counterMachine, { input: {} }).start();

  const rate = await ratePerSec(events, async () => {
    for (let i = 0; i < events; i++) actor.send(TICK);
  });

  const counted = actor.getSnapshot().context.count;
  actor.stop();
  check(counted === events, `direct counted ${counted} of ${events}`);
  return rate;
}

async function runMailbox(events: number, capacity: number): Promise<number> {
  const mailbox = new Mailbox<EventObject>({
    name: 'bench',
    capacity,
    overflow: 'wait',
  });
  const actor = createActor(counterMachine, { input: { mailbox } }).start();
  const counted = () => actor.getSnapshot().context.count;

  const rate = await ratePerSec(events, async () => {
    for (let i = 0; i < events; i++) {
      const waiting = mailbox.send(TICK);
      if (waiting) await waiting;
    }
    while (counted() < events) await nextTurn();
  });

  actor.stop();
  check(counted() === events, `mailbox counted ${counted()} of ${events}`);
  return rate;
}

/** Mailbox delivery versus `actor.send`, alternated, medians compared. */
export async function mailboxRatio(options: {
  events: number;
  rounds: number;
  capacity: number;
}): Promise<MailboxRatioResult> {
  const { events, rounds, capacity } = options;
  const warmUp = Math.min(events, 200_000);
  await runDirect(warmUp);
  await runMailbox(warmUp, capacity);

  const direct: number[] = [];
  const viaMailbox: number[] = [];
  for (let round = 0; round < rounds; round++) {
    direct.push(await runDirect(events));
    viaMailbox.push(await runMailbox(events, capacity));
  }

  const directPerSec = median(direct);
  const mailboxPerSec = median(viaMailbox);
  return { directPerSec, mailboxPerSec, ratio: mailboxPerSec / directPerSec };
}
