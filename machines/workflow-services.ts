import { fromPromise } from 'xstate';

import type { ErrorInfo } from '../runtime/errors.js';

/**
 * What a compiled workflow machine holds and what it needs from the
 * engine: its context, its input and output, the steps it asks for, and
 * the actors through which the engine's services run them.
 */

export interface StepRequest {
  /** Unique to instance, state and attempt: the child job's key. */
  key: string;
  state: string;
  kind: 'action' | 'rscript' | 'workflow';
  name: string;
  params: Record<string, unknown>;
  target: string | null;
  /** For an rscript: the agent and the script's arguments. */
  agent?: string;
  args?: unknown[];
  timeoutMs: number | null;
}

export interface WorkflowContext {
  instanceId: string;
  params: Record<string, unknown>;
  target: string | null;
  ctx: Record<string, unknown>;
  /** The failure being handled, for `error` in expressions. */
  error: ErrorInfo | null;
  /** Attempt of each task state, from 1. */
  attempts: Record<string, number>;
  /** Absolute deadlines of the waits and backoffs now pending. */
  deadlines: Record<string, number>;
  /** Completed steps that declared a compensation, in order. */
  completed: Array<{ state: string; request: StepRequest }>;
  /** The top-level final state reached, once the instance ends. */
  ended: string | null;
  /** Set once compensation has begun, so a cancel does not restart it. */
  compensating: boolean;
}

export type WorkflowOutput =
  { status: 'done'; result: unknown } | { status: 'error'; error: ErrorInfo };

export interface WorkflowInput {
  instanceId: string;
  params: Record<string, unknown>;
  target: string | null;
}

/** The effects a running instance needs from the engine. */
export interface WorkflowServices {
  now(): number;
  runStep(request: StepRequest, signal: AbortSignal): Promise<unknown>;
  sleepUntil(deadline: number, signal: AbortSignal): Promise<void>;
  /** A compensation step failed; the others still run. */
  compensationFailed(request: StepRequest, error: unknown): void;
}

/** The event that cancels an instance: `{type, payload: {reason}}`. */
export const CANCEL_EVENT = 'wf.cancel';

/** The actors that reach the engine: steps, timers, compensation. */
export function stepActors(services: WorkflowServices) {
  return {
    step: fromPromise<unknown, StepRequest>(({ input, signal }) =>
      services.runStep(input, signal),
    ),
    sleepUntil: fromPromise<void, number>(({ input, signal }) =>
      services.sleepUntil(input, signal),
    ),
    compensate: fromPromise<void, StepRequest[]>(async ({ input, signal }) => {
      for (const request of input) {
        await services
          .runStep(request, signal)
          .catch((err: unknown) => services.compensationFailed(request, err));
      }
    }),
  };
}

/** Actors of a machine not yet given its instance's services. */
export const UNPROVIDED: WorkflowServices = {
  now: () => Date.now(),
  runStep: () => Promise.reject(new Error('workflow services not provided')),
  sleepUntil: () => Promise.reject(new Error('workflow services not provided')),
  compensationFailed: () => {},
};
