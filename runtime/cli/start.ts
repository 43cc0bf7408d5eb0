import { join } from 'node:path';

import { createEngine, type Engine } from '../engine.js';
import { expectPositionals, parseFlags } from './args.js';
import {
  cliLogger,
  resolveDataDir,
  resolveTaskletRoots,
  type CliIo,
  type Command,
} from './io.js';

const HELP = `Usage: wfe start [flags]

Runs the engine with its tasklets loaded and reloaded on change, until
SIGINT (Ctrl-C) or SIGTERM; then lets running jobs finish and exits 0.
Logs go to stderr at level info (env WFE_LOG_LEVEL).

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe)
  --tasklets DIR   a tasklet folder; repeat for more (env WFE_TASKLETS,
                   ':'-separated; default: the examples shipped with wfe)
  -h, --help       show this help

Example:
  wfe start --data /var/lib/wfe
`;

const FLAGS = {
  data: { type: 'string' },
  tasklets: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The first line `wfe start` prints once the engine is up. */
export const READY_LINE = 'wfe start: engine ready';

export const startCommand: Command = {
  name: 'start',
  summary: 'run the engine until SIGINT or SIGTERM',
  help: HELP,
  run: start,
};

async function start(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('start', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  expectPositionals('start', positionals, []);
  const dataDir = resolveDataDir(io, values.data);
  const taskletRoots = resolveTaskletRoots(io, values.tasklets);

  const engine = await createEngine({
    taskletRoots,
    dataDir,
    logger: cliLogger(io, 'info'),
    watch: true,
  });

  const stop = stopRequested(io);
  try {
    io.stdout(readyText(engine, dataDir, taskletRoots));
    const reason = await Promise.race([stop.promise, engine.failed]);
    io.stdout(`wfe start: ${reason}, stopping\n`);
  } finally {
    stop.dispose();
    await engine.stop();
  }

  io.stdout('wfe start: stopped\n');
  return 0;
}

function readyText(
  engine: Engine,
  dataDir: string,
  taskletRoots: string[],
): string {
  const actions = engine.registry?.actions() ?? [];
  const failed = engine.registry?.errors().length ?? 0;
  const example = actions.includes('machine.create')
    ? `machine.create --params '{"name":"web1"}'`
    : `${actions[0] ?? '<action>'} --params '{}'`;

  return [
    `${READY_LINE} (pid ${process.pid}); stop it with Ctrl-C or SIGTERM`,
    `  data      ${dataDir}`,
    `  tasklets  ${taskletRoots.join(', ')} (reloaded on change)`,
    `  actions   ${actions.join(', ') || '(none)'}`,
    ...(failed > 0
      ? [`  ${failed} tasklet file(s) failed to load; see log`]
      : []),
    '',
    'This engine does not take submissions from other processes yet;',
    'network submission to a running engine comes with NATS.',
    '`wfe run` runs an action with its own engine in its own process.',
    'Give it another data folder while this engine runs: two engines on one',
    'store would both write to it, and the second would mark the running',
    'jobs of the first as interrupted. For example:',
    `  wfe run ${example} --data ${join(dataDir, '..', '.wfe-run')}`,
    "Reading this engine's jobs from another shell is safe:",
    `  wfe jobs --data ${dataDir}`,
    '',
  ].join('\n');
}

/** Resolves with what asked the engine to stop. */
function stopRequested(io: CliIo): {
  promise: Promise<string>;
  dispose(): void;
} {
  const { stopSignal } = io;
  if (stopSignal) {
    const promise = new Promise<string>((resolve) => {
      if (stopSignal.aborted) resolve('stop requested');
      stopSignal.addEventListener('abort', () => resolve('stop requested'), {
        once: true,
      });
    });
    return { promise, dispose: () => {} };
  }

  // Listeners go away once the first signal arrives, so a second Ctrl-C
  // during a slow shutdown ends the process the default way.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const promise = new Promise<string>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(`received ${signal}`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { promise, dispose };
}
