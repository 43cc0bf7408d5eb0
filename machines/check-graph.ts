/**
 * The state graph of each level: initial states and transition targets
 * exist, every state is reached, and no state is a dead end.
 */
import type {
  StateDefinition,
  WaitState,
  WorkflowDefinition,
} from './definition.js';
import type { Issue, PathSegment } from './issues.js';
import {
  isChoice,
  isFinal,
  isWait,
  levelsOf,
  stateKind,
  transitionsOf,
  type Level,
} from './states.js';

export function checkGraph(definition: WorkflowDefinition): Issue[] {
  const levels = levelsOf(definition);
  const issues: Issue[] = [];

  for (const level of levels) {
    issues.push(...checkTargets(level, levels));
    issues.push(...checkReachable(level));
    for (const [name, state] of Object.entries(level.states)) {
      const path = [...level.path, 'states', name];
      issues.push(...checkWayOut(state, path));
      issues.push(...checkShadowedChoices(state, path));
    }
  }
  return issues;
}

function checkTargets(level: Level, levels: Level[]): Issue[] {
  const issues: Issue[] = [];
  const missing = (target: string, path: PathSegment[]) => {
    if (target in level.states) return;
    issues.push({ path, message: noSuchState(target, level, levels) });
  };

  missing(level.initial, [...level.path, 'initial']);
  for (const [name, state] of Object.entries(level.states)) {
    for (const transition of transitionsOf(state)) {
      missing(transition.target, [
        ...level.path,
        'states',
        name,
        ...transition.path,
      ]);
    }
  }
  return issues;
}

function noSuchState(target: string, level: Level, levels: Level[]): string {
  const states = Object.keys(level.states).join(', ');
  const message = `no state '${target}' ${level.where} (states: ${states})`;

  const elsewhere = levels.find((other) => target in other.states);
  return elsewhere
    ? `${message}; '${target}' is ${elsewhere.where}, and transitions stay within their level`
    : message;
}

// Follows every transition from the initial state. When the initial state
// does not exist, that is the one error worth reporting for the level.
function checkReachable(level: Level): Issue[] {
  if (!(level.initial in level.states)) return [];

  const reached = new Set([level.initial]);
  const queue = [level.initial];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    for (const { target } of transitionsOf(level.states[name]!)) {
      if (reached.has(target) || !(target in level.states)) continue;
      reached.add(target);
      queue.push(target);
    }
  }

  return Object.keys(level.states)
    .filter((name) => !reached.has(name))
    .map((name) => ({
      path: [...level.path, 'states', name],
      at: 'key' as const,
      message: `state '${name}' is never reached from the initial state '${level.initial}'`,
    }));
}

function checkWayOut(state: StateDefinition, path: PathSegment[]): Issue[] {
  if (isFinal(state)) {
    if (state.result === undefined || state.error === undefined) return [];
    return [
      {
        path: [...path, 'error'],
        message: 'a final state has a result or an error, not both',
      },
    ];
  }
  if (isChoice(state)) return [];
  if (isWait(state)) return checkWait(state, path);

  if (state.next !== undefined) return [];
  return [
    {
      path,
      at: 'key',
      message: `a ${stateKind(state)} state needs 'next': it has no way out when it succeeds`,
    },
  ];
}

function checkWait(state: WaitState, path: PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  const issue = (key: string, message: string) =>
    issues.push({ path: [...path, key], at: 'key', message });

  if (state.delayMs !== undefined && state.next === undefined) {
    issue(
      'delayMs',
      "a wait with 'delayMs' needs 'next', where it goes after the delay",
    );
  }
  if (state.delayMs === undefined && state.next !== undefined) {
    issue(
      'next',
      "'next' is never taken: without 'delayMs', a wait moves on by its 'on' events only",
    );
  }
  if (state.onTimeout !== undefined && state.timeoutMs === undefined) {
    issue(
      'onTimeout',
      "'onTimeout' needs 'timeoutMs', how long to wait for the 'on' events",
    );
  }
  if (state.timeoutMs !== undefined && state.on === undefined) {
    issue(
      'timeoutMs',
      "'timeoutMs' limits the wait for 'on' events, and this state has none",
    );
  }
  return issues;
}

// A choice without `if` always matches: any after it is never tried.
function checkShadowedChoices(
  state: StateDefinition,
  path: PathSegment[],
): Issue[] {
  const lists: [PathSegment[], { if?: string }[]][] = [];
  if (isChoice(state)) lists.push([[...path, 'choose'], state.choose]);
  if (isWait(state)) {
    for (const [event, to] of Object.entries(state.on ?? {})) {
      if (Array.isArray(to)) lists.push([[...path, 'on', event], to]);
    }
  }

  const issues: Issue[] = [];
  for (const [listPath, choices] of lists) {
    const always = choices.findIndex((choice) => choice.if === undefined);
    if (always === -1 || always === choices.length - 1) continue;
    issues.push({
      path: [...listPath, always + 1],
      message: `never tried: the choice at index ${always} has no 'if' and always matches`,
    });
  }
  return issues;
}
