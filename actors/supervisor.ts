import {
  enqueueActions,
  setup,
  type AnyActorLogic,
  type AnyEventObject,
  type EventObject,
} from 'xstate';

import type { Clock } from '../runtime/clock.js';
import { toErrorInfo, WfeError, type ErrorInfo } from '../runtime/errors.js';
import type { Logger } from '../runtime/log.js';
import type { Mailbox } from '../runtime/mailbox.js';
import { mailboxDelivery } from './mailbox-reader.js';

/**
 * `permanent` children are always restarted, `transient` ones only after
 * a failure, `temporary` ones never (a job runs once).
 */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

export interface ChildSpec {
  id: string;
  logic: AnyActorLogic;
  input?: unknown;
  restart: RestartPolicy;
}

export interface RestartIntensity {
  /** More than this many restarts within `withinMs` escalate. */
  maxRestarts: number;
  withinMs: number;
}

export interface ChildFailure {
  supervisor: string;
  childId: string;
  error: ErrorInfo;
  restarted: boolean;
}

export interface SupervisorInput {
  name: string;
  /** Where senders queue events for this supervisor, when bounded. */
  mailbox?: Mailbox<EventObject>;
  children?: ChildSpec[];
  intensity?: RestartIntensity;
  logger: Logger;
  clock: Clock;
  /** Told of every child failure, restarted or not. */
  onChildFailed?(failure: ChildFailure): void;
  /** Told when a child ends normally. */
  onChildDone?(childId: string, output: unknown): void;
}

export type SupervisorEvent =
  | { type: 'supervisor.spawn'; child: ChildSpec }
  | { type: 'supervisor.stop'; id: string };

interface SupervisorContext {
  input: SupervisorInput;
  /** Specs of the children that may need restarting. */
  specs: Map<string, ChildSpec>;
  restartTimes: number[];
  restarts: Map<string, number>;
  /** Each child's most recent failure, for the inspector. */
  lastErrors: Map<string, ChildError>;
}

export interface ChildError {
  code: string;
  message: string;
  at: number;
}

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';

export const DEFAULT_INTENSITY: RestartIntensity = {
  maxRestarts: 3,
  withinMs: 5000,
};

/**
 * One-for-one supervision: a failed child is restarted on its own,
 * according to its policy, until the restart intensity is exceeded; then
 * the supervisor fails too, which hands the problem to its own parent.
 */
export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent | AnyEventObject,
  },
  actors: { mailboxDelivery },
  actions: {
    spawnInitial: enqueueActions(({ context, enqueue }) => {
      for (const spec of context.input.children ?? []) {
        if (spec.restart !== 'temporary') context.specs.set(spec.id, spec);
        enqueue.spawnChild(spec.logic, childOptions(spec));
      }
    }),

    spawn: enqueueActions(({ context, event, enqueue }) => {
      const { child } = event as Extract<
        SupervisorEvent,
        { type: 'supervisor.spawn' }
      >;
      if (child.restart !== 'temporary') context.specs.set(child.id, child);
      enqueue.spawnChild(child.logic, childOptions(child));
    }),

    stop: enqueueActions(({ context, event, enqueue }) => {
      const { id } = event as Extract<
        SupervisorEvent,
        { type: 'supervisor.stop' }
      >;
      context.specs.delete(id);
      enqueue.stopChild(id);
    }),

    childDone: enqueueActions(({ context, event, enqueue }) => {
      const childId = event.type.slice(DONE_PREFIX.length);
      const spec = context.specs.get(childId);
      enqueue.stopChild(childId);

      if (spec?.restart === 'permanent') {
        restart(context, spec, 'ended');
        enqueue.spawnChild(spec.logic, childOptions(spec));
        return;
      }

      context.specs.delete(childId);
      context.input.onChildDone?.(
        childId,
        (event as { output?: unknown }).output,
      );
    }),

    childFailed: enqueueActions(({ context, event, enqueue }) => {
      const childId = event.type.slice(ERROR_PREFIX.length);
      const error = toErrorInfo((event as { error?: unknown }).error);
      const spec = context.specs.get(childId);
      const restarting = spec !== undefined && spec.restart !== 'temporary';
      const { logger, name, clock } = context.input;
      context.lastErrors.set(childId, {
        code: error.code,
        message: error.message,
        at: clock.now(),
      });

      logger.error(
        { supervisor: name, child: childId, err: error, restarting },
        'child actor failed',
      );
      context.input.onChildFailed?.({
        supervisor: name,
        childId,
        error,
        restarted: restarting,
      });
      enqueue.stopChild(childId);

      if (!restarting) {
        context.specs.delete(childId);
        return;
      }

      restart(context, spec, 'failed');
      enqueue.spawnChild(spec.logic, childOptions(spec));
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    input,
    specs: new Map(),
    restartTimes: [],
    restarts: new Map(),
    lastErrors: new Map(),
  }),
  entry: 'spawnInitial',
  invoke: {
    src: 'mailboxDelivery',
    input: ({ context }) => ({ mailbox: context.input.mailbox }),
  },
  on: {
    'supervisor.spawn': { actions: 'spawn' },
    'supervisor.stop': { actions: 'stop' },
    'xstate.done.actor.*': { actions: 'childDone' },
    'xstate.error.actor.*': { actions: 'childFailed' },
  },
});

/**
 * Counts a restart against the intensity window; throwing here fails the
 * supervisor itself, which is how the failure escalates.
 */
function restart(
  context: SupervisorContext,
  spec: ChildSpec,
  why: 'failed' | 'ended',
): void {
  const { clock, logger, name } = context.input;
  const intensity = context.input.intensity ?? DEFAULT_INTENSITY;
  const now = clock.now();

  context.restartTimes = context.restartTimes.filter(
    (at) => now - at < intensity.withinMs,
  );
  context.restartTimes.push(now);
  context.restarts.set(spec.id, (context.restarts.get(spec.id) ?? 0) + 1);

  if (context.restartTimes.length > intensity.maxRestarts) {
    throw new WfeError(
      'SUPERVISOR_ESCALATED',
      `supervisor ${name}: more than ${intensity.maxRestarts} restarts ` +
        `within ${intensity.withinMs} ms (last: ${spec.id})`,
      { details: { supervisor: name, child: spec.id } },
    );
  }

  logger.warn(
    {
      supervisor: name,
      child: spec.id,
      why,
      restarts: context.restarts.get(spec.id),
    },
    'child actor restarted',
  );
}

/**
 * Children come from specs at run time, not from `setup({ actors })`, so
 * their ids are outside what XState's types can check.
 */
function childOptions(spec: ChildSpec): never {
  return { id: spec.id, input: spec.input } as never;
}
