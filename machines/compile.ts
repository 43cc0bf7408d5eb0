import { assign, raise, setup, type AnyStateMachine } from 'xstate';

import { toErrorInfo, type ErrorInfo } from '../runtime/errors.js';
import type {
  ChoiceState,
  FinalState,
  GuardedTransition,
  ParallelState,
  Region,
  StateDefinition,
  TaskState,
  WaitState,
  WorkflowDefinition,
} from './definition.js';
import { compileExpression, type Expression } from './expressions.js';
import {
  CANCEL_EVENT,
  stepActors,
  UNPROVIDED,
  type StepRequest,
  type WorkflowContext,
  type WorkflowInput,
  type WorkflowOutput,
  type WorkflowServices,
} from './workflow-services.js';

/**
 * Compiles a checked workflow definition to an XState machine.
 *
 * The machine holds no timer of XState's own: every delay is an invoked
 * `sleepUntil` actor whose input is an absolute deadline kept in the
 * context, and every step is an invoked `step` actor whose input carries
 * a key unique to the instance, state and attempt. A persisted snapshot
 * restored after a crash restarts both from that input, so a delay fires
 * at its original deadline and a step finds the child job it already
 * started instead of starting another.
 */

const FAILED = '__failed';
const COMPENSATING = '__compensating';

/** Compiled once per definition; instances get their services apart. */
const compiled = new WeakMap<WorkflowDefinition, AnyStateMachine>();

export function compileWorkflow(
  definition: WorkflowDefinition,
  services: WorkflowServices,
): AnyStateMachine {
  let machine = compiled.get(definition);
  if (!machine) {
    machine = new Compiler(definition, services.now).machine();
    compiled.set(definition, machine);
  }
  return machine.provide({ actors: stepActors(services) });
}

type Vars = Record<string, unknown>;

/** What guards, inputs and updates of this machine are given. */
interface Args {
  context: WorkflowContext;
  event: { output?: unknown; error?: unknown; payload?: unknown };
}

/**
 * `assign` for configs built as plain objects: XState's types follow a
 * machine written inline, which a compiler cannot give them.
 */
const update = (fn: (args: Args) => Partial<WorkflowContext>) =>
  assign(fn as never);

class Compiler {
  readonly #definition: WorkflowDefinition;
  readonly #now: () => number;
  readonly #expressions = new Map<string, Expression>();

  constructor(definition: WorkflowDefinition, now: () => number) {
    this.#definition = definition;
    this.#now = now;
  }

  machine(): AnyStateMachine {
    const definition = this.#definition;
    const initialContext = (input: WorkflowInput): WorkflowContext => {
      const vars = { params: input.params, target: input.target, ctx: {} };
      const ctx: Record<string, unknown> = {};
      for (const [key, text] of Object.entries(definition.context ?? {})) {
        ctx[key] = this.#evaluate(text, { ...vars, ctx });
      }
      return {
        ...input,
        ctx,
        error: null,
        attempts: {},
        deadlines: {},
        completed: [],
        ended: null,
        compensating: false,
      };
    };

    return setup({
      types: {
        context: {} as WorkflowContext,
        input: {} as WorkflowInput,
        output: {} as WorkflowOutput,
        events: {} as { type: string; payload?: unknown },
      },
      actors: stepActors(UNPROVIDED),
    }).createMachine({
      id: 'wf',
      context: ({ input }) => initialContext(input),
      initial: definition.initial,
      // A cancel undoes what was done, then fails the instance.
      on: {
        [CANCEL_EVENT]: this.#cancelTransition(),
      },
      states: {
        ...this.#states(definition.states, ''),
        [COMPENSATING]: {
          entry: assign({ compensating: true }),
          invoke: {
            src: 'compensate',
            input: ({ context }) =>
              [...context.completed].reverse().map(({ request }) => request),
            onDone: FAILED,
            onError: FAILED,
          },
        },
        [FAILED]: { type: 'final', entry: assign({ ended: FAILED }) },
      },
      output: ({ context }) => {
        if (context.ended === FAILED) {
          return { status: 'error', error: context.error! };
        }
        return this.#finalOutput(context.ended!, context);
      },
    }) as unknown as AnyStateMachine;
  }

  #cancelTransition(): never {
    return {
      guard: ({ context }: Args) => !context.compensating,
      target: `.${COMPENSATING}`,
      actions: update(({ event }) => ({
        error: {
          code: 'CANCELLED',
          message: String(
            (event.payload as { reason?: unknown } | null)?.reason ??
              'cancelled on request',
          ),
          retryable: false,
        },
      })),
    } as never;
  }

  #states(
    states: Record<string, StateDefinition>,
    prefix: string,
  ): Record<string, object> {
    const compiled: Record<string, object> = {};
    for (const [name, state] of Object.entries(states)) {
      const path = prefix + name;
      compiled[name] = this.#state(path, state, prefix);
    }
    return compiled;
  }

  #state(path: string, state: StateDefinition, prefix: string): object {
    if ('final' in state) return this.#final(path, prefix);
    if ('choose' in state) return this.#choice(state, prefix);
    if ('parallel' in state) return this.#parallel(path, state, prefix);
    if ('action' in state || 'rscript' in state || 'workflow' in state) {
      return this.#task(path, state as TaskState, prefix);
    }
    return this.#wait(path, state as WaitState, prefix);
  }

  /** `#wf.a.b`: a state addressed from anywhere in the machine. */
  #target(prefix: string, name: string): string {
    const path = prefix === '' ? name : `${prefix}${name}`;
    return `#wf.${path}`;
  }

  /**
   * A top-level final records itself; a region's tells its parent. One
   * that ends the workflow failed undoes the completed steps first.
   */
  #final(path: string, prefix: string): object {
    if (prefix !== '') {
      return { type: 'final', entry: raise({ type: 'region.done' }) };
    }
    const state = this.#definition.states[path] as FinalState;
    if (!state.error) return { type: 'final', entry: assign({ ended: path }) };

    const error: ErrorInfo = {
      code: state.error.code,
      message: state.error.message ?? `the workflow ended in ${path}`,
      retryable: false,
    };
    return {
      entry: assign({ error }),
      always: `#wf.${COMPENSATING}`,
    };
  }

  #choice(state: ChoiceState, prefix: string): object {
    return { always: this.#guarded(state.choose, prefix) };
  }

  #guarded(choices: GuardedTransition[], prefix: string): object[] {
    return choices.map((choice) => ({
      target: this.#target(prefix, choice.next),
      guard:
        choice.if === undefined
          ? undefined
          : ({
              context,
              event,
            }: {
              context: WorkflowContext;
              event: { payload?: unknown };
            }) =>
              this.#test(choice.if!, {
                ...varsOf(context),
                event: event.payload ?? null,
              }),
    }));
  }

  #task(path: string, state: TaskState, prefix: string): object {
    const retry = state.retry;
    const attemptsAllowed = retry?.attempts ?? 1;
    const onError = state.onError ?? {};
    const failure = ({ event }: { event: { error: unknown } }) =>
      toErrorInfo(event.error);

    return {
      initial: 'attempt',
      states: {
        attempt: {
          invoke: {
            src: 'step',
            input: ({ context }: { context: WorkflowContext }) =>
              this.#request(path, state, context),
            onDone: {
              target: this.#next(prefix, state.next),
              actions: update(({ context, event }) =>
                this.#completed(path, state, context, event.output),
              ),
            },
            onError: [
              {
                guard: ({
                  context,
                  event,
                }: {
                  context: WorkflowContext;
                  event: { error: unknown };
                }) =>
                  retries(retry?.on, failure({ event })) &&
                  (context.attempts[path] ?? 1) < attemptsAllowed,
                target: 'backoff',
                actions: update(({ context }) => {
                  const attempt = (context.attempts[path] ?? 1) + 1;
                  const delay =
                    (retry?.delayMs ?? 0) *
                    (retry?.backoff ?? 2) ** (attempt - 2);
                  return {
                    attempts: { ...context.attempts, [path]: attempt },
                    deadlines: {
                      ...context.deadlines,
                      [path]: this.#now() + delay,
                    },
                  };
                }),
              },
              ...this.#errorRoutes(onError, prefix),
            ],
          },
        },
        backoff: {
          invoke: {
            src: 'sleepUntil',
            input: ({ context }: { context: WorkflowContext }) =>
              context.deadlines[path]!,
            onDone: 'attempt',
          },
        },
      },
    };
  }

  /** onError routes by code, then failing the workflow. */
  #errorRoutes(onError: Record<string, string>, prefix: string): object[] {
    const keep = update(({ event }) => ({
      error: toErrorInfo(event.error),
    }));
    const routes: object[] = [];
    for (const [code, next] of Object.entries(onError)) {
      if (code === '*') continue;
      routes.push({
        guard: ({ event }: { event: { error: unknown } }) =>
          toErrorInfo(event.error).code === code,
        target: this.#target(prefix, next),
        actions: keep,
      });
    }
    const any = onError['*'];
    routes.push({
      target:
        any === undefined ? `#wf.${COMPENSATING}` : this.#target(prefix, any),
      actions: keep,
    });
    return routes;
  }

  #next(prefix: string, next: string | undefined): string {
    // Checked definitions give every non-final state a way out.
    return this.#target(prefix, next!);
  }

  #wait(path: string, state: WaitState, prefix: string): object {
    const delay = state.delayMs ?? state.timeoutMs;
    const entry = update(({ context }) => ({
      deadlines: {
        ...context.deadlines,
        [path]: this.#now() + this.#delayOf(delay, context),
      },
    }));
    const on: Record<string, object[]> = {};
    for (const [event, route] of Object.entries(state.on ?? {})) {
      on[event] =
        typeof route === 'string'
          ? [{ target: this.#target(prefix, route) }]
          : this.#guarded(route, prefix);
    }
    const after = state.delayMs !== undefined ? state.next : state.onTimeout;

    return {
      entry: delay === undefined ? undefined : entry,
      on,
      invoke:
        delay === undefined
          ? undefined
          : {
              src: 'sleepUntil',
              input: ({ context }: { context: WorkflowContext }) =>
                context.deadlines[path]!,
              onDone: this.#next(prefix, after),
            },
    };
  }

  #delayOf(delay: number | string | undefined, context: WorkflowContext) {
    if (typeof delay === 'number') return delay;
    const value = this.#evaluate(delay!, varsOf(context));
    return typeof value === 'number' && value >= 0 ? value : 0;
  }

  #parallel(path: string, state: ParallelState, prefix: string): object {
    const regions: Record<string, object> = {};
    for (const [name, region] of Object.entries(state.parallel)) {
      regions[name] = this.#region(`${path}.${name}.`, region);
    }
    const next = this.#next(prefix, state.next);
    if (state.wait === 'any') {
      return { type: 'parallel', states: regions, on: { 'region.done': next } };
    }
    return { type: 'parallel', states: regions, onDone: next };
  }

  #region(prefix: string, region: Region): object {
    return {
      initial: region.initial,
      states: this.#states(region.states, prefix),
    };
  }

  #request(
    path: string,
    state: TaskState,
    context: WorkflowContext,
  ): StepRequest {
    const vars = varsOf(context);
    const attempt = context.attempts[path] ?? 1;
    const params: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(state.input ?? {})) {
      params[key] = this.#evaluate(text, vars);
    }
    const target =
      state.target === undefined ? null : this.#evaluate(state.target, vars);
    const base = {
      key: `${context.instanceId}:${path}:${attempt}`,
      state: path,
      params,
      target: typeof target === 'string' ? target : null,
      timeoutMs: state.timeoutMs ?? null,
    };
    if (state.rscript) {
      return {
        ...base,
        kind: 'rscript',
        name: state.rscript.script,
        agent: String(this.#evaluate(state.rscript.agent, vars)),
        args: (state.rscript.args ?? []).map((a) => this.#evaluate(a, vars)),
      };
    }
    if (state.workflow)
      return { ...base, kind: 'workflow', name: state.workflow };
    return { ...base, kind: 'action', name: state.action! };
  }

  #completed(
    path: string,
    state: TaskState,
    context: WorkflowContext,
    output: unknown,
  ): Partial<WorkflowContext> {
    const ctx =
      state.output === undefined
        ? context.ctx
        : { ...context.ctx, [state.output]: output };
    if (!state.compensate) return { ctx };

    const vars = { ...varsOf(context), ctx };
    const params: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(state.compensate.input ?? {})) {
      params[key] = this.#evaluate(text, vars);
    }
    const target =
      state.compensate.target === undefined
        ? null
        : this.#evaluate(state.compensate.target, vars);
    const request: StepRequest = {
      key: `${context.instanceId}:${path}:undo`,
      state: `${path}.compensate`,
      kind: 'action',
      name: state.compensate.action,
      params,
      target: typeof target === 'string' ? target : null,
      timeoutMs: null,
    };
    return { ctx, completed: [...context.completed, { state: path, request }] };
  }

  #finalOutput(value: string, context: WorkflowContext): WorkflowOutput {
    const state = this.#definition.states[value] as FinalState | undefined;
    if (state?.error) {
      return {
        status: 'error',
        error: {
          code: state.error.code,
          message: state.error.message ?? `the workflow ended in ${value}`,
          retryable: false,
        },
      };
    }
    const result =
      state?.result === undefined
        ? context.ctx
        : this.#evaluate(state.result, varsOf(context));
    return { status: 'done', result };
  }

  #evaluate(text: string, vars: Vars): unknown {
    let expression = this.#expressions.get(text);
    if (!expression) {
      expression = compileExpression(text);
      this.#expressions.set(text, expression);
    }
    return expression.evaluate(vars);
  }

  #test(text: string, vars: Vars): boolean {
    return this.#evaluate(text, vars) === true;
  }
}

function varsOf(context: WorkflowContext): Vars {
  return {
    params: context.params,
    target: context.target,
    ctx: context.ctx,
    error: context.error,
  };
}

function retries(codes: string[] | undefined, error: ErrorInfo): boolean {
  return codes === undefined ? error.retryable : codes.includes(error.code);
}
