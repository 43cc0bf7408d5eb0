/**
 * Reading a schema-valid definition: the kind of each state, the
 * transitions leaving it, and the levels (the top and each parallel
 * region) whose states transitions may name.
 */
import type {
  ChoiceState,
  FinalState,
  ParallelState,
  StateDefinition,
  TaskState,
  WaitState,
  WorkflowDefinition,
} from './definition.js';
import type { PathSegment } from './issues.js';

export type StateKind = 'task' | 'parallel' | 'wait' | 'choice' | 'final';

/** Told by keys, in the schema's order. */
export function stateKind(state: StateDefinition): StateKind {
  if ('final' in state) return 'final';
  if ('choose' in state) return 'choice';
  if ('parallel' in state) return 'parallel';
  if ('delayMs' in state || 'on' in state) return 'wait';
  return 'task';
}

export const isFinal = (state: StateDefinition): state is FinalState =>
  stateKind(state) === 'final';
export const isChoice = (state: StateDefinition): state is ChoiceState =>
  stateKind(state) === 'choice';
export const isParallel = (state: StateDefinition): state is ParallelState =>
  stateKind(state) === 'parallel';
export const isWait = (state: StateDefinition): state is WaitState =>
  stateKind(state) === 'wait';
export const isTask = (state: StateDefinition): state is TaskState =>
  stateKind(state) === 'task';

export interface Transition {
  /** The state it goes to. */
  target: string;
  /** Where the target is named, from the state: `['on', 'approve', 0, 'next']`. */
  path: PathSegment[];
}

/** Every transition out of `state`, in the order they appear. */
export function transitionsOf(state: StateDefinition): Transition[] {
  const found: Transition[] = [];

  if (isChoice(state)) {
    state.choose.forEach((choice, index) =>
      found.push({ target: choice.next, path: ['choose', index, 'next'] }),
    );
    return found;
  }
  if (isFinal(state)) return found;

  if (state.next !== undefined) {
    found.push({ target: state.next, path: ['next'] });
  }
  for (const [code, target] of Object.entries(state.onError ?? {})) {
    found.push({ target, path: ['onError', code] });
  }

  if (isWait(state)) {
    for (const [event, to] of Object.entries(state.on ?? {})) {
      if (typeof to === 'string') {
        found.push({ target: to, path: ['on', event] });
        continue;
      }
      to.forEach((choice, index) =>
        found.push({ target: choice.next, path: ['on', event, index, 'next'] }),
      );
    }
    if (state.onTimeout !== undefined) {
      found.push({ target: state.onTimeout, path: ['onTimeout'] });
    }
  }
  return found;
}

/** The top level, or one region of a parallel state. */
export interface Level {
  /** The path of the object holding `initial` and `states`. */
  path: PathSegment[];
  /** For messages: `at the top level`, `in region 'web' of 'provision'`. */
  where: string;
  initial: string;
  states: Record<string, StateDefinition>;
}

/** The top level first, then every region, depth first. */
export function levelsOf(definition: WorkflowDefinition): Level[] {
  const levels: Level[] = [];
  const visit = (level: Level): void => {
    levels.push(level);
    for (const [stateName, state] of Object.entries(level.states)) {
      if (!isParallel(state)) continue;
      for (const [regionName, region] of Object.entries(state.parallel)) {
        visit({
          path: [...level.path, 'states', stateName, 'parallel', regionName],
          where: `in region '${regionName}' of '${stateName}'`,
          initial: region.initial,
          states: region.states,
        });
      }
    }
  };

  visit({
    path: [],
    where: 'at the top level',
    initial: definition.initial,
    states: definition.states,
  });
  return levels;
}

/** Every state of the definition, at every level, with its path. */
export function allStates(
  definition: WorkflowDefinition,
): { path: PathSegment[]; name: string; state: StateDefinition }[] {
  return levelsOf(definition).flatMap((level) =>
    Object.entries(level.states).map(([name, state]) => ({
      path: [...level.path, 'states', name],
      name,
      state,
    })),
  );
}
