import path from 'node:path';

import {
  definitionErrors,
  formatError,
  loadDefinitionFile,
} from '../../machines/load.js';
import { WfeError } from '../errors.js';
import { createTaskletRegistry } from '../tasklets/registry.js';
import { parseFlags, UsageError } from './args.js';
import {
  cliLogger,
  resolveTaskletRoots,
  type CliIo,
  type Command,
} from './io.js';

const HELP = `Usage: wfe validate <file>... [flags]

Checks workflow definitions (YAML or JSON): their shape, that every
transition names a state, that every state is reached and every
expression is valid CEL. Prints each error on stderr as
FILE:LINE:COL: PATH: MESSAGE, and 'FILE: ok (workflow NAME vN)' on stdout
for each good file. Exits 0 when all are valid, 1 when any is not.

Flags:
  --tasklets DIR   also check action names against this tasklet folder;
                   repeat for more (env WFE_TASKLETS, ':'-separated;
                   default: action names are not checked)
  -h, --help       show this help

Example:
  wfe validate examples/workflows/*.yaml --tasklets examples/tasklets
`;

const FLAGS = {
  tasklets: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check workflow definition files',
  help: HELP,
  run: validate,
};

async function validate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('validate', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UsageError('validate', 'missing argument <file>');
  }

  const knownActions = await taskletActions(io, values.tasklets);
  let invalid = 0;
  for (const file of positionals) {
    const valid = await validateFile(file, io, knownActions);
    if (!valid) invalid++;
  }
  return invalid === 0 ? 0 : 1;
}

async function validateFile(
  file: string,
  io: CliIo,
  knownActions: ReadonlySet<string> | undefined,
): Promise<boolean> {
  try {
    const { definition } = await loadDefinitionFile(
      path.resolve(io.cwd, file),
      { name: file, knownActions },
    );
    io.stdout(
      `${file}: ok (workflow ${definition.name} v${definition.version})\n`,
    );
    return true;
  } catch (err) {
    const errors = definitionErrors(err);
    if (errors) {
      for (const error of errors) io.stderr(`${formatError(error)}\n`);
    } else if (err instanceof WfeError) {
      io.stderr(`wfe: ${err.message}\n`);
    } else {
      throw err;
    }
    return false;
  }
}

// Actions are checked only when tasklets are named: the examples that
// other commands fall back to say nothing about a user's workflows.
async function taskletActions(
  io: CliIo,
  flags: string[] | undefined,
): Promise<ReadonlySet<string> | undefined> {
  if (!flags?.length && !io.env.WFE_TASKLETS) return undefined;

  const registry = await createTaskletRegistry({
    roots: resolveTaskletRoots(io, flags),
    logger: cliLogger(io, 'warn'),
  });
  try {
    return new Set(registry.actions());
  } finally {
    await registry.close();
  }
}
