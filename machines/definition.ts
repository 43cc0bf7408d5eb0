/**
 * The workflow definition format: what a YAML or JSON file under a
 * workflows root holds. A definition is data; it is checked against
 * machines/schema.ts and by machines/check.ts, then compiled to an
 * XState machine. Every string the engine evaluates is an expression in
 * CEL (machines/expressions.ts), never code.
 *
 * Expressions see these variables:
 * - `params`: the parameters the workflow was submitted with;
 * - `target`: the root object guid it was submitted on, or null;
 * - `ctx`: the instance's context (see `context` and `output`);
 * - `event`: in the guard of an `on` transition, the event's payload;
 * - `error`: in `onError` handling and compensation, the error that ended
 *   the step (`code`, `message`).
 */

export interface WorkflowDefinition {
  /** The workflow's name, unique under its root: `deploy`, `web.rollout`. */
  name: string;
  /**
   * Bumped by the author on every change. An instance keeps running on
   * the version it started with; new submissions take the newest.
   */
  version: number;
  description?: string;
  /**
   * The root object action (`machine.deploy`) this workflow implements:
   * submitting that action starts an instance, as for a tasklet action.
   */
  implements?: string;
  /** The context at start: key → expression over `params`, `target`. */
  context?: Record<string, string>;
  initial: string;
  states: Record<string, StateDefinition>;
}

export type StateDefinition =
  TaskState | ParallelState | WaitState | ChoiceState | FinalState;

/** Where a state goes when it ends. */
export interface Transitions {
  /** On success. */
  next?: string;
  /**
   * On failure, by error code; `'*'` catches any other code. A failure
   * no entry catches fails the workflow, after its compensation.
   */
  onError?: Record<string, string>;
}

/** Runs one step: an action, an rscript or a child workflow. */
export interface TaskState extends Transitions {
  /** Exactly one of `action`, `rscript`, `workflow`. */
  action?: string;
  rscript?: RscriptStep;
  workflow?: string;
  /** The step's params: key → expression. */
  input?: Record<string, string>;
  /** The root object guid the action works on: an expression. */
  target?: string;
  /** The context key that receives the step's result. */
  output?: string;
  retry?: RetryPolicy;
  /** Fails the step with JOB_TIMEOUT after this long, per attempt. */
  timeoutMs?: number;
  /**
   * Undoes this step if a later step fails the workflow: compensations run
   * in the reverse order of the steps that completed.
   */
  compensate?: CompensationStep;
}

export interface RscriptStep {
  /** The agent to run it on: an expression (`"'local'"`, `ctx.host`). */
  agent: string;
  /** The script, relative to the definition file's folder. */
  script: string;
  /** Arguments: expressions. */
  args?: string[];
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The wait before the second attempt. */
  delayMs: number;
  /** Each later wait is this many times the one before. @default 2 */
  backoff?: number;
  /** Only these error codes are retried. @default every retryable error */
  on?: string[];
}

export interface CompensationStep {
  action: string;
  input?: Record<string, string>;
  target?: string;
}

/** Runs regions side by side. */
export interface ParallelState extends Transitions {
  parallel: Record<string, Region>;
  /** `all`: done when every region ends; `any`: when the first does. */
  wait?: 'all' | 'any';
}

export interface Region {
  initial: string;
  states: Record<string, StateDefinition>;
}

/** Waits for a delay, or for a named event from outside. */
export interface WaitState extends Transitions {
  /** A delay: milliseconds, or an expression giving them. */
  delayMs?: number | string;
  /**
   * Events that move the instance on: event name → next state, or a list
   * of guarded choices tried in order.
   */
  on?: Record<string, string | GuardedTransition[]>;
  /** With `on`: give up waiting after this long and go to `onTimeout`. */
  timeoutMs?: number;
  onTimeout?: string;
}

export interface GuardedTransition {
  /** A boolean expression; absent means always. */
  if?: string;
  next: string;
}

/** Chooses the next state by guards, tried in order. */
export interface ChoiceState {
  choose: GuardedTransition[];
}

/** Ends the instance. */
export interface FinalState {
  final: true;
  /** The workflow's result: an expression. */
  result?: string;
  /** Ends the workflow failed with this error instead. */
  error?: { code: string; message?: string };
}
