import { fromPromise, setup } from 'xstate';

import type { Store, Write, WriteOutcome } from '../runtime/drp/types.js';
import { toWfeError } from '../runtime/errors.js';
import type { Logger } from '../runtime/log.js';
import type { Mailbox } from '../runtime/mailbox.js';
import { mailboxSignal } from './mailbox-reader.js';

/** A write waiting in the writer's mailbox, with its sender's promise. */
export interface WriteRequest {
  write: Write;
  resolve(outcome: WriteOutcome): void;
  reject(err: Error): void;
}

export interface DrpWriterInput {
  store: Store;
  mailbox: Mailbox<WriteRequest>;
  logger: Logger;
  maxBatch: number;
}

/**
 * Commits one batch and answers each sender once the batch is durable.
 * Answers come from here, not from the machine, so a batch that is in
 * flight when the writer restarts is still answered.
 */
export async function commitBatch(
  store: Store,
  requests: WriteRequest[],
): Promise<number> {
  const writes = coalesce(requests.map((r) => r.write));

  let outcomes: WriteOutcome[];
  try {
    outcomes = await store.commit(writes.list);
  } catch (err) {
    const error = toWfeError(err, 'STORE_ERROR');
    for (const request of requests) request.reject(error);
    return requests.length;
  }

  for (let i = 0; i < requests.length; i++) {
    const slot = writes.slotOf[i]!;
    requests[i]!.resolve(outcomes[slot] ?? { ok: true });
  }
  return requests.length;
}

/**
 * Full job records replace each other, so only the last `job.put` of a
 * job within one batch needs writing; earlier ones share its outcome.
 */
function coalesce(writes: Write[]): { list: Write[]; slotOf: number[] } {
  const lastPut = new Map<string, number>();
  writes.forEach((w, i) => {
    if (w.kind === 'job.put') lastPut.set(w.job.id, i);
  });

  const list: Write[] = [];
  const slotOf: number[] = new Array(writes.length);
  const slotOfJob = new Map<string, number>();

  writes.forEach((w, i) => {
    if (w.kind !== 'job.put') {
      slotOf[i] = list.push(w) - 1;
      return;
    }
    let slot = slotOfJob.get(w.job.id);
    if (slot === undefined) {
      slot = list.push(writes[lastPut.get(w.job.id)!]!) - 1;
      slotOfJob.set(w.job.id, slot);
    }
    slotOf[i] = slot;
  });

  return { list, slotOf };
}

/**
 * The single writer of the DRP: idle until its mailbox has writes, then
 * commits them in batches of up to `maxBatch`, one batch at a time, so
 * that writes reach the store in the order they were sent.
 */
export const drpWriterMachine = setup({
  types: {
    input: {} as DrpWriterInput,
    context: {} as DrpWriterInput,
  },
  actors: {
    mailboxSignal,
    commit: fromPromise<number, DrpWriterInput>(({ input }) =>
      commitBatch(input.store, input.mailbox.take(input.maxBatch)),
    ),
  },
  guards: {
    hasWrites: ({ context }) => context.mailbox.depth > 0,
  },
}).createMachine({
  id: 'drp-writer',
  context: ({ input }) => input,
  invoke: {
    src: 'mailboxSignal',
    input: ({ context }) => ({ mailbox: context.mailbox }),
  },
  initial: 'checking',
  states: {
    checking: {
      always: [
        { guard: 'hasWrites', target: 'committing' },
        { target: 'idle' },
      ],
    },
    idle: {
      on: { 'mailbox.ready': 'committing' },
    },
    committing: {
      invoke: {
        src: 'commit',
        input: ({ context }) => context,
        onDone: 'checking',
      },
    },
  },
});
