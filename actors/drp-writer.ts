import { fromPromise, setup } from 'xstate';

import type { Store, Write, WriteOutcome } from '../runtime/drp/types.js';
import { toWfeError, WfeError } from '../runtime/errors.js';
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
 * flight when the writer restarts is still answered. A store that breaks
 * its contract crashes the writer, but only after every sender of the
 * batch has been told.
 */
export async function commitBatch(
  store: Store,
  requests: WriteRequest[],
): Promise<number> {
  let outcomes: WriteOutcome[];
  let writes: Coalesced;
  try {
    writes = coalesce(requests.map((r) => r.write));
    outcomes = await store.commit(writes.list);
  } catch (err) {
    const error = toWfeError(err, 'STORE_ERROR');
    for (const request of requests) request.reject(error);
    return requests.length;
  }

  if (!Array.isArray(outcomes) || outcomes.length !== writes.list.length) {
    const error = new WfeError(
      'STORE_CONTRACT',
      `store ${store.kind} answered ${describeOutcomes(outcomes)} ` +
        `for a batch of ${writes.list.length} writes`,
    );
    for (const request of requests) request.reject(error);
    throw error;
  }

  for (let i = 0; i < requests.length; i++) {
    requests[i]!.resolve(outcomes[writes.slotOf[i]!]!);
  }
  return requests.length;
}

function describeOutcomes(outcomes: unknown): string {
  return Array.isArray(outcomes)
    ? `${outcomes.length} outcomes`
    : typeof outcomes;
}

/**
 * Full job records replace each other, so only the last `job.put` of a
 * job within one batch needs writing; earlier ones share its outcome.
 */
interface Coalesced {
  list: Write[];
  slotOf: number[];
}

function coalesce(writes: Write[]): Coalesced {
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
    // One turn of the loop before taking a batch lets the writes that
    // are already on their way join it. A commit blocks the loop (SQLite
    // syncs in this thread), so without it a steady trickle of senders
    // gets one fsync each.
    commit: fromPromise<number, DrpWriterInput>(async ({ input }) => {
      await new Promise((resolve) => setImmediate(resolve));
      return commitBatch(input.store, input.mailbox.take(input.maxBatch));
    }),
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
