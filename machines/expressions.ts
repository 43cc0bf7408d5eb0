/**
 * Expressions in a workflow definition are CEL. Each is parsed and
 * type-checked once, when the definition loads, in an environment that
 * declares only the variables expressions may see (machines/definition.ts),
 * as `dyn`: a name outside them fails at load, not at run time.
 */
import {
  Environment,
  type ParseResult,
  type SourceRange,
} from '@marcbachmann/cel-js';

import { WfeError } from '../runtime/errors.js';
import { fromCel, toCel } from './cel-values.js';

export const EXPRESSION_VARIABLES = [
  'params',
  'target',
  'ctx',
  'event',
  'error',
] as const;

export type ExpressionVariable = (typeof EXPRESSION_VARIABLES)[number];

/** The variables of one evaluation; those left undefined are unknown. */
export type ExpressionVars = Partial<Record<ExpressionVariable, unknown>>;

export interface CompileOptions {
  /** The variables this expression may use. @default all of them */
  variables?: readonly ExpressionVariable[];
}

export interface Expression {
  readonly text: string;
  /** CEL's static type: `bool`, `int`, `string`, `dyn`, `list<int>`... */
  readonly type: string;
  /** The value as JSON: ints become numbers, maps plain objects. */
  evaluate(vars: ExpressionVars): unknown;
  /** As `evaluate`, failing unless the value is true or false. */
  evaluateBoolean(vars: ExpressionVars): boolean;
}

/**
 * EXPRESSION_INVALID when the text is not CEL or uses an unknown name;
 * EXPRESSION_FAILED when an evaluation fails. `start` and `end` are
 * offsets into the expression, when CEL gives them.
 */
export class ExpressionError extends WfeError {
  readonly expression: string;
  readonly start: number | undefined;
  readonly end: number | undefined;
  /** For EXPRESSION_INVALID: a name the expression may not use. */
  readonly unknownName: string | undefined;

  constructor(
    code: 'EXPRESSION_INVALID' | 'EXPRESSION_FAILED',
    expression: string,
    message: string,
    where: { range?: SourceRange; unknownName?: string } = {},
  ) {
    const { range, unknownName } = where;
    super(code, message, {
      details: {
        expression,
        start: range?.start,
        end: range?.end,
        unknownName,
      },
    });
    this.expression = expression;
    this.start = range?.start;
    this.end = range?.end;
    this.unknownName = unknownName;
  }
}

interface CelError {
  code?: string;
  node?: { args?: unknown };
  summary?: string;
  message: string;
  range?: SourceRange;
}

// Building an environment is costly; one per set of variables is enough.
const environments = new Map<string, Environment>();

export function compileExpression(
  text: string,
  options: CompileOptions = {},
): Expression {
  const variables = options.variables ?? EXPRESSION_VARIABLES;
  const parsed = parse(text, variables);

  const checked = parsed.check();
  if (!checked.valid) {
    throw invalid(text, checked.error as CelError | undefined, variables);
  }

  const expression: Expression = {
    text,
    type: checked.type ?? 'dyn',
    evaluate: (vars) => evaluate(parsed, text, vars),
    evaluateBoolean(vars) {
      const value = expression.evaluate(vars);
      if (typeof value === 'boolean') return value;
      throw new ExpressionError(
        'EXPRESSION_FAILED',
        text,
        `expression ${quoteExpression(text)} gave ${JSON.stringify(value)}, not true or false`,
      );
    },
  };
  return expression;
}

function parse(
  text: string,
  variables: readonly ExpressionVariable[],
): ParseResult {
  try {
    return environmentFor(variables).parse(text);
  } catch (err) {
    throw invalid(text, err as CelError, variables);
  }
}

function evaluate(
  parsed: ParseResult,
  text: string,
  vars: ExpressionVars,
): unknown {
  const context: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(vars)) {
    if (value !== undefined) context[name] = toCel(value);
  }

  let result: unknown;
  try {
    result = parsed(context);
  } catch (err) {
    const cel = err as CelError;
    throw new ExpressionError(
      'EXPRESSION_FAILED',
      text,
      `expression ${quoteExpression(text)} failed: ${reason(cel)}${at(text, cel.range)}`,
      { range: cel.range },
    );
  }

  const json = fromCel(result);
  if (json.ok) return json.value;
  throw new ExpressionError(
    'EXPRESSION_FAILED',
    text,
    `expression ${quoteExpression(text)} gave no JSON value: ${json.reason}`,
  );
}

function invalid(
  text: string,
  err: CelError | undefined,
  variables: readonly ExpressionVariable[],
): ExpressionError {
  const summary = err ? reason(err) : 'not a valid expression';
  const range = err?.range;

  const name = err?.node?.args;
  if (err?.code === 'unknown_variable' && typeof name === 'string') {
    const message =
      `unknown name '${name}' in ${quoteExpression(text)}: ` +
      `expressions here see ${variables.join(', ')}`;
    return new ExpressionError('EXPRESSION_INVALID', text, message, {
      range,
      unknownName: name,
    });
  }

  const message = `invalid expression ${quoteExpression(text)}: ${summary}${at(text, range)}`;
  return new ExpressionError('EXPRESSION_INVALID', text, message, { range });
}

/** An expression in a message: on one line, whatever the YAML folded. */
export function quoteExpression(text: string): string {
  return `\`${text.trim().replace(/\s+/g, ' ')}\``;
}

// CEL's own message, without the source excerpt it appends.
function reason(err: CelError): string {
  const text = err.summary ?? err.message ?? String(err);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function at(text: string, range: SourceRange | undefined): string {
  if (range === undefined) return '';

  const before = text.slice(0, range.start).split('\n');
  const column = before[before.length - 1]!.length + 1;
  return before.length > 1
    ? ` (at line ${before.length}, column ${column})`
    : ` (at column ${column})`;
}

function environmentFor(variables: readonly ExpressionVariable[]): Environment {
  const key = [...variables].sort().join(',');
  let environment = environments.get(key);
  if (environment === undefined) {
    // Mixed literals such as `{"name": ctx.name, "size": 2}` are common in
    // results and inputs; CEL would want each wrapped in dyn() otherwise.
    environment = new Environment({ homogeneousAggregateLiterals: false });
    for (const name of variables) environment.registerVariable(name, 'dyn');
    environments.set(key, environment);
  }
  return environment;
}
