import { WfeError } from '../errors.js';
import { agentCommand } from './agent.js';
import { UsageError } from './args.js';
import { cancelCommand } from './cancel.js';
import { eventCommand } from './event.js';
import { graphCommand } from './graph.js';
import { findPackage, processIo, type CliIo, type Command } from './io.js';
import { jobsCommand } from './jobs.js';
import { runCommand } from './run.js';
import { startCommand } from './start.js';
import { submitCommand } from './submit.js';
import { validateCommand } from './validate.js';

const COMMANDS: readonly Command[] = [
  runCommand,
  jobsCommand,
  startCommand,
  submitCommand,
  cancelCommand,
  eventCommand,
  agentCommand,
  validateCommand,
  graphCommand,
];

const HELP = `Usage: wfe <command> [flags]

A workflow engine: actions are chains of tasklets, run as jobs and
recorded in a store (SQLite in --data, default .wfe).

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join('\n')}
  help      show help for a command: wfe help <command>

Flags:
  -h, --help     show this help
  --version      print the version of wfe

Examples:
  wfe run machine.create --params '{"name":"web1"}' && wfe jobs
  wfe start --nats nats://127.0.0.1:4222 &
  wfe submit machine.create --params '{"name":"web1"}' --wait \\
    --nats nats://127.0.0.1:4222
`;

/**
 * Runs one `wfe` invocation and returns its exit code: 0 on success, 1 when
 * the work failed, 2 when the command line is wrong. Nothing is thrown.
 */
export async function main(
  argv: string[],
  io: Partial<CliIo> = {},
): Promise<number> {
  const cli: CliIo = { ...processIo(), ...io };
  try {
    return await dispatch(argv, cli);
  } catch (err) {
    return reportError(err, cli);
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;

  if (first === undefined) {
    io.stderr(HELP);
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.stdout(HELP);
    return 0;
  }
  if (first === '--version') {
    io.stdout(`${findPackage().version}\n`);
    return 0;
  }
  if (first === 'help') return help(rest, io);
  if (first.startsWith('-')) {
    throw new UsageError('', `unknown flag ${first}`);
  }

  return commandNamed(first).run(rest, io);
}

function help(topics: string[], io: CliIo): number {
  if (topics.length > 1) {
    throw new UsageError('', `unexpected argument '${topics[1]}'`);
  }
  io.stdout(topics[0] === undefined ? HELP : commandNamed(topics[0]).help);
  return 0;
}

function commandNamed(name: string): Command {
  const command = COMMANDS.find((known) => known.name === name);
  if (!command) throw new UsageError('', `unknown command '${name}'`);
  return command;
}

// The one place errors meet the user: one line each, never a stack trace
// unless WFE_LOG_LEVEL=debug asks for it.
function reportError(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    const helpCommand = err.command
      ? `wfe ${err.command} --help`
      : 'wfe --help';
    io.stderr(`wfe: ${err.message} (see ${helpCommand})\n`);
    return 2;
  }

  if (err instanceof WfeError) {
    io.stderr(`wfe: ${err.code}: ${err.message}\n`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`wfe: internal error: ${message}\n`);
  }

  if (io.env.WFE_LOG_LEVEL === 'debug' && err instanceof Error) {
    io.stderr(`${err.stack}\n`);
  }
  return 1;
}
