import { join } from 'node:path';

import { natsOptionsFromEnv, type NatsOptions } from '../bus/connect.js';
import {
  createEngine,
  ENGINE_ROLES,
  type Engine,
  type EngineRole,
} from '../engine.js';
import { expectPositionals, parseFlags, UsageError } from './args.js';
import {
  cliLogger,
  findPackage,
  resolveDataDir,
  resolveTaskletRoots,
  resolveWorkflowRoots,
  type CliIo,
  type Command,
} from './io.js';
import { xmppOptionsFromEnv, type XmppOptions } from '../xmpp/options.js';
import { displayUrl, natsFlagHelp } from './nats.js';
import { stopRequested } from './stop.js';
import {
  INSPECTOR_FLAGS,
  inspectorFlagHelp,
  inspectorFor,
  inspectorSettings,
  statelyFor,
} from './inspector.js';
import type { Inspector } from '../inspector/server.js';
import { mongoFlagHelp, mongoOptions } from './store.js';
import type { MongoStoreOptions } from '../drp/mongo-store.js';
import type { Store } from '../drp/types.js';

const HELP = `Usage: wfe start [flags]

Runs the engine with its tasklets loaded and reloaded on change, until
SIGINT (Ctrl-C) or SIGTERM; then lets running jobs finish and exits 0.
Logs go to stderr at level info (env WFE_LOG_LEVEL).

With --nats, the engine takes submissions from other processes ('wfe
submit'), answers 'wfe jobs --nats', publishes job events, and can share
the work with other engines: each runs one role. Without it, the engine
serves only this process.

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe);
                   with --mongodb, only the tasklet build cache
  ${mongoFlagHelp(17)}
  --tasklets DIR   a tasklet folder; repeat for more (env WFE_TASKLETS,
                   ':'-separated; default: the examples shipped with wfe)
  --workflows DIR  a folder of workflow definitions; repeat for more
                   (env WFE_WORKFLOWS; default: the shipped examples)
  ${natsFlagHelp(17)}
  --role ROLE      what this engine runs (env WFE_ROLE, default all):
                   all, or one part of a deployment over NATS: worker
                   (runs jobs), writer (keeps the store) or controller
                   (talks to the agents)
  --xmpp URL       log in to XMPP as the agent controller, to run
                   rscripts on remote agents (env WFE_XMPP_URL)
  --jid JID        the controller's JID; agents obey only it
                   (env WFE_XMPP_JID)
  --password PASS  its password (better: env WFE_XMPP_PASSWORD)
${inspectorFlagHelp()}
  -h, --help       show this help

Examples:
  wfe start --data /var/lib/wfe
  wfe start --mongodb mongodb://db1:27017,db2:27017/wfe?replicaSet=rs0
  wfe start --nats nats://127.0.0.1:4222
  wfe start --nats nats://127.0.0.1:4222 --role worker
  WFE_XMPP_PASSWORD=... wfe start --xmpp xmpp://127.0.0.1:5222 \\
    --jid wfe@example.org
`;

const FLAGS = {
  data: { type: 'string' },
  mongodb: { type: 'string' },
  tasklets: { type: 'string', multiple: true },
  workflows: { type: 'string', multiple: true },
  nats: { type: 'string' },
  role: { type: 'string' },
  xmpp: { type: 'string' },
  jid: { type: 'string' },
  password: { type: 'string' },
  ...INSPECTOR_FLAGS,
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
  const workflowRoots = resolveWorkflowRoots(io, values.workflows);
  const nats = natsOptionsFromEnv(io.env, values.nats);
  const role = toRole(values.role ?? io.env.WFE_ROLE, nats);
  const xmpp = xmppLogin(io, values);
  const mongodb = storeOptions(io, role, values.mongodb);
  const inspector = inspectorSettings(io, values);
  const logger = cliLogger(io, 'info');
  const stately = statelyFor(inspector, logger);

  const engine = await createEngine({
    taskletRoots,
    workflowRoots,
    dataDir,
    role,
    nats: nats ?? undefined,
    xmpp,
    mongodb: mongodb ?? undefined,
    logger,
    watch: true,
    inspect: stately?.inspect,
  }).catch((err: unknown) => {
    stately?.stop();
    throw err;
  });

  const stop = stopRequested(io);
  let page: Inspector | null = null;
  try {
    page = await inspectorFor(engine, inspector, findPackage().version);
    const setup = {
      dataDir,
      taskletRoots,
      workflowRoots,
      nats,
      xmpp,
      store: engine.store,
      inspector: page?.url ?? null,
    };
    io.stdout(readyText(engine, setup));
    const reason = await Promise.race([stop.promise, engine.failed]);
    io.stdout(`wfe start: ${reason}, stopping\n`);
  } finally {
    stop.dispose();
    await page?.close();
    await engine.stop();
    stately?.stop();
  }

  io.stdout('wfe start: stopped\n');
  return 0;
}

function toRole(
  text: string | undefined,
  nats: NatsOptions | null,
): EngineRole {
  if (text === undefined || text === '') return 'all';
  const role = ENGINE_ROLES.find((known) => known === text);
  if (!role) {
    throw new UsageError(
      'start',
      `--role must be one of ${ENGINE_ROLES.join(', ')}, got '${text}'`,
    );
  }
  if (role !== 'all' && !nats) {
    throw new UsageError(
      'start',
      `--role ${role} shares the work with other engines over NATS: ` +
        'give --nats URL or set WFE_NATS_URL',
    );
  }
  return role;
}

/**
 * MongoDB for the roles that use the store: all and writer keep it, a
 * worker reads it directly. WFE_MONGODB_URL may be set on every host of
 * a deployment, so a controller ignores it; the flag given to one is a
 * mistake.
 */
function storeOptions(
  io: CliIo,
  role: EngineRole,
  flag: string | undefined,
): MongoStoreOptions | null {
  if (role === 'controller') {
    if (flag === undefined) return null;
    throw new UsageError(
      'start',
      '--mongodb is for the roles that use the store (all, writer, ' +
        'worker); a controller runs rscripts only',
    );
  }
  return mongoOptions('start', io, { mongodb: flag });
}

/** The agent controller's login, when --xmpp or WFE_XMPP_URL asks. */
function xmppLogin(
  io: CliIo,
  flags: { xmpp?: string; jid?: string; password?: string },
): XmppOptions | undefined {
  if (flags.xmpp === undefined && !io.env.WFE_XMPP_URL) {
    if (flags.jid !== undefined || flags.password !== undefined) {
      throw new UsageError('start', '--jid and --password go with --xmpp');
    }
    return undefined;
  }
  try {
    return xmppOptionsFromEnv(io.env, 'WFE_XMPP', {
      url: flags.xmpp,
      jid: flags.jid,
      password: flags.password,
    });
  } catch {
    throw new UsageError(
      'start',
      '--xmpp needs --jid (or WFE_XMPP_JID) and a password ' +
        '(WFE_XMPP_PASSWORD, or --password)',
    );
  }
}

interface Setup {
  dataDir: string;
  taskletRoots: string[];
  workflowRoots: string[];
  nats: NatsOptions | null;
  xmpp: XmppOptions | undefined;
  store: Store;
  inspector: string | null;
}

function readyText(engine: Engine, setup: Setup): string {
  const actions = [
    ...(engine.registry?.actions() ?? []),
    ...engine.workflowActions(),
  ].sort();
  const failed = engine.registry?.errors().length ?? 0;
  const example = actions.includes('machine.create')
    ? `machine.create --params '{"name":"web1"}'`
    : `${actions[0] ?? '<action>'} --params '{}'`;

  return [
    `${READY_LINE} (pid ${process.pid}); stop it with Ctrl-C or SIGTERM`,
    `  role      ${engine.role}`,
    ...(setup.nats ? [`  nats      ${displayUrl(setup.nats.url)}`] : []),
    ...(setup.xmpp && engine.role !== 'worker' && engine.role !== 'writer'
      ? [`  agents    over ${setup.xmpp.url} as ${setup.xmpp.jid}`]
      : []),
    ...storeLines(engine.role, setup.store),
    ...(setup.inspector ? [`  inspector ${setup.inspector}`] : []),
    ...(engine.registry
      ? [
          `  tasklets  ${setup.taskletRoots.join(', ')} (reloaded on change)`,
          `  workflows ${setup.workflowRoots.join(', ')}`,
          `  actions   ${actions.join(', ') || '(none)'}`,
        ]
      : []),
    ...(failed > 0
      ? [`  ${failed} tasklet file(s) failed to load; see log`]
      : []),
    '',
    ...(setup.nats
      ? natsAdvice(engine.role, example, displayUrl(setup.nats.url))
      : localAdvice(example, setup)),
    '',
  ].join('\n');
}

function storeLines(role: EngineRole, store: Store): string[] {
  const where = `${store.kind} at ${store.location ?? '?'}`;
  if (role === 'all' || role === 'writer') return [`  store     ${where}`];
  if (role === 'worker' && store.kind === 'mongodb') {
    return [`  store     ${where} (read; writes go through the writer)`];
  }
  return [];
}

function natsAdvice(role: EngineRole, example: string, url: string): string[] {
  const lines = [
    'Submit work from any process that reaches this NATS server:',
    `  wfe submit ${example} --nats ${url}`,
    'and watch the jobs:',
    `  wfe jobs --nats ${url}`,
  ];
  if (role === 'all') return lines;
  return [
    `This engine runs only the ${role} role; engines running the other`,
    'roles on this NATS server complete the deployment.',
    ...lines,
  ];
}

function localAdvice(example: string, setup: Setup): string[] {
  const intro = [
    'This engine serves this process only. To take submissions from other',
    "processes ('wfe submit'), start it with --nats URL (or WFE_NATS_URL)",
    'naming a running nats-server.',
  ];
  if (setup.store.kind === 'mongodb') {
    return [
      ...intro,
      "Reading this engine's jobs from another shell is safe:",
      `  wfe jobs --mongodb ${setup.store.location ?? 'URL'}`,
    ];
  }
  return [
    ...intro,
    '`wfe run` runs an action with its own engine in its own process.',
    'Give it another data folder while this engine runs: this one holds',
    'the lock on its folder, and a second engine there stops at once with',
    'DATA_DIR_LOCKED. For example:',
    `  wfe run ${example} --data ${join(setup.dataDir, '..', '.wfe-run')}`,
    "Reading this engine's jobs from another shell is safe:",
    `  wfe jobs --data ${setup.dataDir}`,
  ];
}
