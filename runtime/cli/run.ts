import { createEngine } from '../engine.js';
import { mongoFlagHelp, mongoOptions } from './store.js';
import type { JobRecord } from '../drp/types.js';
import {
  expectPositionals,
  parseFlags,
  parseJsonObject,
  parsePositiveInteger,
} from './args.js';
import {
  cliLogger,
  resolveDataDir,
  resolveTaskletRoots,
  resolveWorkflowRoots,
  type CliIo,
  type Command,
} from './io.js';

const HELP = `Usage: wfe run <action> [flags]

Runs one action to its end in this process and prints its result as JSON.
Exits 0 when the job is done, 1 when it failed.

Flags:
  --target GUID      the root object the action works on
  --params JSON      the action's parameters, a JSON object (default {})
  --timeout MS       fail the job if it runs longer than this
  --data DIR         where the store lives (env WFE_DATA_DIR, default .wfe);
                     with --mongodb, only the tasklet build cache
  ${mongoFlagHelp(19)}
  --tasklets DIR     a tasklet folder; repeat for more (env WFE_TASKLETS,
                     ':'-separated; default: the examples shipped with wfe)
  --workflows DIR    a folder of workflow definitions; repeat for more
                     (env WFE_WORKFLOWS; default: the shipped examples)
  -v, --verbose      log at level info (env WFE_LOG_LEVEL wins)
  -h, --help         show this help

Example:
  wfe run machine.create --params '{"name":"web1"}'
`;

const FLAGS = {
  target: { type: 'string' },
  params: { type: 'string' },
  timeout: { type: 'string' },
  data: { type: 'string' },
  mongodb: { type: 'string' },
  tasklets: { type: 'string', multiple: true },
  workflows: { type: 'string', multiple: true },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const runCommand: Command = {
  name: 'run',
  summary: 'run one action and print its result',
  help: HELP,
  run,
};

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('run', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [action] = expectPositionals('run', positionals, ['action']);
  const submission = {
    action,
    target: values.target,
    params:
      values.params === undefined
        ? {}
        : parseJsonObject('run', 'params', values.params),
    maxDurationMs:
      values.timeout === undefined
        ? undefined
        : parsePositiveInteger('run', 'timeout', values.timeout),
  };

  const mongodb = mongoOptions('run', io, { mongodb: values.mongodb });
  const engine = await createEngine({
    taskletRoots: resolveTaskletRoots(io, values.tasklets),
    workflowRoots: resolveWorkflowRoots(io, values.workflows),
    dataDir: resolveDataDir(io, values.data),
    mongodb: mongodb ?? undefined,
    logger: cliLogger(io, values.verbose ? 'info' : 'warn'),
  });

  // A failed engine stops itself; the job would then never end.
  try {
    const job = await Promise.race([engine.run(submission), engine.failed]);
    return report(job, io);
  } finally {
    await engine.stop();
  }
}

function report(job: JobRecord, io: CliIo): number {
  if (job.status === 'done') {
    io.stdout(`${JSON.stringify(job.result ?? null, null, 2)}\n`);
    return 0;
  }

  const code = job.error?.code ?? job.status.toUpperCase();
  const message = job.error?.message ?? `the job ended ${job.status}`;
  io.stderr(`wfe: ${job.action} failed: ${code}: ${message} (job ${job.id})\n`);
  return 1;
}
