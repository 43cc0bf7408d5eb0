/**
 * Every expression of a definition compiles, sees only the variables it
 * may, and gives the type its place needs where CEL can tell statically.
 */
import type {
  StateDefinition,
  TaskState,
  WorkflowDefinition,
} from './definition.js';
import {
  compileExpression,
  EXPRESSION_VARIABLES,
  ExpressionError,
  quoteExpression,
  type ExpressionVariable,
} from './expressions.js';
import type { Issue, PathSegment } from './issues.js';
import { allStates, isChoice, isFinal, isTask, isWait } from './states.js';

/** `context` is computed at start, before `ctx` exists. */
const AT_START: readonly ExpressionVariable[] = ['params', 'target'];
const IN_STATES: readonly ExpressionVariable[] = [
  'params',
  'target',
  'ctx',
  'error',
];
/** Guards of `on` transitions also see the event's payload. */
const IN_EVENT_GUARDS: readonly ExpressionVariable[] = [...IN_STATES, 'event'];

type Expect = 'bool' | 'number' | 'string' | 'any';

const NEEDED: Record<Expect, string> = {
  bool: 'true or false',
  number: 'a number',
  string: 'a string',
  any: 'a value',
};

const ACCEPTS: Record<Expect, RegExp> = {
  bool: /^(bool|dyn)$/,
  number: /^(int|uint|double|dyn)$/,
  string: /^(string|dyn)$/,
  any: /./,
};

interface Found {
  path: PathSegment[];
  text: string;
  variables: readonly ExpressionVariable[];
  expect: Expect;
}

export function checkExpressions(definition: WorkflowDefinition): Issue[] {
  const found: Found[] = [];
  const add = (
    path: PathSegment[],
    text: string | undefined,
    variables: readonly ExpressionVariable[],
    expect: Expect = 'any',
  ) => {
    if (text !== undefined) found.push({ path, text, variables, expect });
  };

  for (const [key, text] of Object.entries(definition.context ?? {})) {
    add(['context', key], text, AT_START);
  }
  for (const { path, state } of allStates(definition)) {
    inState(state, path, add);
  }

  return found.flatMap(check);
}

function inState(
  state: StateDefinition,
  path: PathSegment[],
  add: (
    path: PathSegment[],
    text: string | undefined,
    variables: readonly ExpressionVariable[],
    expect?: Expect,
  ) => void,
): void {
  if (isTask(state)) {
    inTask(state, path, (at, text, expect) => add(at, text, IN_STATES, expect));
  }
  if (isChoice(state)) {
    state.choose.forEach((choice, index) =>
      add([...path, 'choose', index, 'if'], choice.if, IN_STATES, 'bool'),
    );
  }
  if (isWait(state)) {
    if (typeof state.delayMs === 'string') {
      add([...path, 'delayMs'], state.delayMs, IN_STATES, 'number');
    }
    for (const [event, to] of Object.entries(state.on ?? {})) {
      if (typeof to === 'string') continue;
      to.forEach((choice, index) =>
        add(
          [...path, 'on', event, index, 'if'],
          choice.if,
          IN_EVENT_GUARDS,
          'bool',
        ),
      );
    }
  }
  if (isFinal(state)) add([...path, 'result'], state.result, IN_STATES);
}

function inTask(
  state: TaskState,
  path: PathSegment[],
  add: (path: PathSegment[], text: string | undefined, expect?: Expect) => void,
): void {
  for (const [key, text] of Object.entries(state.input ?? {})) {
    add([...path, 'input', key], text);
  }
  add([...path, 'target'], state.target, 'string');

  if (state.rscript) {
    add([...path, 'rscript', 'agent'], state.rscript.agent, 'string');
    state.rscript.args?.forEach((text, index) =>
      add([...path, 'rscript', 'args', index], text),
    );
  }

  const compensate = state.compensate;
  if (compensate) {
    for (const [key, text] of Object.entries(compensate.input ?? {})) {
      add([...path, 'compensate', 'input', key], text);
    }
    add([...path, 'compensate', 'target'], compensate.target, 'string');
  }
}

function check(found: Found): Issue[] {
  let type: string;
  try {
    type = compileExpression(found.text, { variables: found.variables }).type;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return [{ path: found.path, message: withHint(err) }];
  }

  if (ACCEPTS[found.expect].test(type)) return [];
  return [
    {
      path: found.path,
      message: `${quoteExpression(found.text)} gives a ${type}, where ${NEEDED[found.expect]} is needed`,
    },
  ];
}

// A bare word such as `agent: local` reads as a variable; the fix is
// rarely obvious to someone who meant text.
function withHint(err: ExpressionError): string {
  const name = err.unknownName;
  if (name === undefined) return err.message;
  if ((EXPRESSION_VARIABLES as readonly string[]).includes(name)) {
    return err.message;
  }
  return `${err.message}; for text, quote it: "'${name}'"`;
}
