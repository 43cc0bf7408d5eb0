import { parseArgs, type ParseArgsConfig } from 'node:util';

import { WfeError } from '../errors.js';
import { describe, isPlainObject } from '../jobs/submission.js';

export type FlagSpecs = NonNullable<ParseArgsConfig['options']>;

/**
 * A mistake in how the command was typed. The CLI prints it as one line
 * with a pointer to the command's help and exits with code 2.
 */
export class UsageError extends WfeError {
  readonly command: string;

  constructor(command: string, message: string) {
    super('USAGE', message, { details: { command } });
    this.command = command;
  }
}

/** `parseArgs` in strict mode, with its errors turned into UsageErrors. */
export function parseFlags<const O extends FlagSpecs>(
  command: string,
  argv: string[],
  options: O,
) {
  try {
    return parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(command, explainParseError(argv, options, err));
  }
}

/** Fails unless exactly the named positional arguments were given. */
export function expectPositionals(
  command: string,
  positionals: string[],
  names: string[],
): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(
      command,
      `missing argument <${names[positionals.length]}>`,
    );
  }
  if (positionals.length > names.length) {
    throw new UsageError(
      command,
      `unexpected argument '${positionals[names.length]}'`,
    );
  }
  return positionals;
}

export function parsePositiveInteger(
  command: string,
  flag: string,
  text: string,
): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      command,
      `--${flag} must be a positive whole number, got '${text}'`,
    );
  }
  return value;
}

export function parseJsonObject(
  command: string,
  flag: string,
  text: string,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UsageError(command, `--${flag} is not valid JSON: ${reason}`);
  }

  if (!isPlainObject(value)) {
    throw new UsageError(
      command,
      `--${flag} must be a JSON object, got ${describe(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Node's parse errors carry a code but a long, generic message. A second,
 * lenient pass over the tokens finds the flag at fault so that the message
 * can name it plainly.
 */
function explainParseError(
  argv: string[],
  options: FlagSpecs,
  err: unknown,
): string {
  const { tokens } = parseArgs({
    args: argv,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (!spec) return `unknown flag ${token.rawName}`;
    if (spec.type === 'string' && typeof token.value !== 'string') {
      return `${token.rawName} needs a value`;
    }
    // Strict mode refuses `--data --json`: the value looks like a flag.
    if (
      spec.type === 'string' &&
      !token.inlineValue &&
      token.value?.startsWith('-')
    ) {
      return (
        `${token.rawName} needs a value; to pass one starting with '-', ` +
        `write ${token.rawName}=${token.value}`
      );
    }
    if (spec.type === 'boolean' && token.value !== undefined) {
      return `${token.rawName} takes no value`;
    }
  }

  // Not expected: every strict-mode failure has a token found above.
  return err instanceof Error ? err.message : String(err);
}
