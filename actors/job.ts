import { assign, fromPromise, setup } from 'xstate';

import type { ErrorInfo } from '../runtime/errors.js';
import { toErrorInfo, WfeError } from '../runtime/errors.js';

/** What a step asks for next. */
export type StepOutcome = 'continue' | 'stop';

/**
 * The work of one job as a sequence of steps: the tasklets of a chain, or
 * the single step of an rscript. The job machine only sequences them; the
 * steps themselves share their state through the work object.
 */
export interface JobWork {
  readonly steps: number;
  runStep(index: number): Promise<StepOutcome>;
  result(): unknown;
  /** Called once when the job is cancelled or times out. */
  abort(reason: WfeError): void;
}

export interface JobInput {
  jobId: string;
  work: JobWork;
  maxDurationMs: number | null;
  /** A cancel that arrived before the actor existed, with its reason. */
  cancelRequested(): string | null;
}

export type JobOutput =
  | { status: 'done'; result: unknown }
  | { status: 'error' | 'cancelled'; error: ErrorInfo };

interface JobContext extends JobInput {
  index: number;
  stopped: boolean;
  error: ErrorInfo | null;
  outcome: JobOutput['status'] | null;
}

export type JobEvent = { type: 'job.cancel'; reason?: string };

// setTimeout cannot wait longer than this; the guard ignores it then.
const NO_DEADLINE = 2 ** 31 - 1;

export const jobMachine = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobContext,
    events: {} as JobEvent,
    output: {} as JobOutput,
  },
  actors: {
    tasklet: fromPromise<StepOutcome, { work: JobWork; index: number }>(
      ({ input }) => input.work.runStep(input.index),
    ),
  },
  delays: {
    maxDuration: ({ context }) => context.maxDurationMs ?? NO_DEADLINE,
  },
  actions: {
    abortWork: ({ context }) =>
      context.work.abort(WfeError.fromInfo(context.error!)),
  },
  guards: {
    chainEnded: ({ context }) =>
      context.stopped || context.index >= context.work.steps,
    cancelRequested: ({ context }) => context.cancelRequested() !== null,
    hasDeadline: ({ context }) => context.maxDurationMs !== null,
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({
    ...input,
    index: 0,
    stopped: false,
    error: null,
    outcome: null,
  }),
  initial: 'next',
  after: {
    maxDuration: { guard: 'hasDeadline', target: '.timedOut' },
  },
  on: {
    'job.cancel': '.cancelled',
  },
  states: {
    next: {
      always: [
        { guard: 'cancelRequested', target: 'cancelled' },
        { guard: 'chainEnded', target: 'done' },
        { target: 'running' },
      ],
    },
    running: {
      invoke: {
        src: 'tasklet',
        input: ({ context }) => ({
          work: context.work,
          index: context.index,
        }),
        onDone: {
          target: 'next',
          actions: assign(({ context, event }) => ({
            index: context.index + 1,
            stopped: event.output === 'stop',
          })),
        },
        onError: {
          target: 'failed',
          actions: assign({ error: ({ event }) => toErrorInfo(event.error) }),
        },
      },
    },
    done: { type: 'final', entry: assign({ outcome: 'done' as const }) },
    failed: { type: 'final', entry: assign({ outcome: 'error' as const }) },
    cancelled: {
      type: 'final',
      entry: [
        assign(({ context, event }) => ({
          outcome: 'cancelled' as const,
          error: new WfeError(
            'CANCELLED',
            `job ${context.jobId}: ${reasonOf(context, event)}`,
          ).toJSON(),
        })),
        'abortWork',
      ],
    },
    timedOut: {
      type: 'final',
      entry: [
        assign(({ context }) => ({
          outcome: 'error' as const,
          error: new WfeError(
            'JOB_TIMEOUT',
            `job ${context.jobId} ran past its maximum duration of ` +
              `${context.maxDurationMs} ms`,
            { retryable: true },
          ).toJSON(),
        })),
        'abortWork',
      ],
    },
  },
  output: ({ context }) => outputOf(context),
});

function outputOf(context: JobContext): JobOutput {
  if (context.outcome === 'done') {
    return { status: 'done', result: context.work.result() };
  }
  const error = context.error ?? {
    code: 'INTERNAL',
    message: `job ${context.jobId} ended without a result`,
    retryable: false,
  };
  return {
    status: context.outcome === 'cancelled' ? 'cancelled' : 'error',
    error,
  };
}

function reasonOf(context: JobContext, event: { type: string }): string {
  if (event.type === 'job.cancel') {
    return (event as JobEvent).reason ?? 'cancelled';
  }
  return context.cancelRequested() ?? 'cancelled';
}
