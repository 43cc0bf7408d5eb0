import { startAgent } from '../xmpp/agent.js';
import { xmppOptionsFromEnv } from '../xmpp/connect.js';
import {
  expectPositionals,
  parseFlags,
  parsePositiveInteger,
  UsageError,
} from './args.js';
import { cliLogger, type CliIo, type Command } from './io.js';
import { stopRequested } from './stop.js';

const HELP = `Usage: wfe agent [flags]

Runs an agent: logs into XMPP as its own JID and runs the rscripts that
the agent controller sends, until SIGINT (Ctrl-C) or SIGTERM; then kills
the scripts still running and exits 0. It obeys the controller's JID
only. Logs go to stderr at level info (env WFE_LOG_LEVEL).

Flags:
  --xmpp URL          the XMPP server, xmpp://host:port or xmpps://host:port
                      (env WFE_AGENT_XMPP_URL)
  --jid JID           this agent's JID, user@domain (env WFE_AGENT_JID)
  --password PASS     its password; prefer env WFE_AGENT_PASSWORD, since
                      flags show in the process list
  --controller JID    the controller's JID, the only one obeyed
                      (env WFE_AGENT_CONTROLLER)
  --concurrency N     scripts run at once (env WFE_AGENT_CONCURRENCY,
                      default 4)
  --work-dir DIR      where scripts are written, one private folder each
                      (env WFE_AGENT_WORK_DIR, default the temp folder)
  -h, --help          show this help

TLS: WFE_AGENT_CA_FILE names the server's CA; WFE_AGENT_STARTTLS=1 asks
for STARTTLS. Plaintext xmpp:// is allowed to loopback only.

Example:
  WFE_AGENT_PASSWORD=... wfe agent --xmpp xmpp://127.0.0.1:5222 \\
    --jid web1@example.org --controller wfe@example.org
`;

const FLAGS = {
  xmpp: { type: 'string' },
  jid: { type: 'string' },
  password: { type: 'string' },
  controller: { type: 'string' },
  concurrency: { type: 'string' },
  'work-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `wfe agent` prints, followed by its JID, once it is online. */
export const AGENT_READY_LINE = 'wfe agent: ready as';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run rscripts sent by the controller over XMPP',
  help: HELP,
  run: agent,
};

async function agent(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('agent', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  expectPositionals('agent', positionals, []);
  const fromEnv = (name: string) => io.env[name] || undefined;
  const url = values.xmpp ?? fromEnv('WFE_AGENT_XMPP_URL');
  const jid = values.jid ?? fromEnv('WFE_AGENT_JID');
  const password = values.password ?? fromEnv('WFE_AGENT_PASSWORD');
  const controller = values.controller ?? fromEnv('WFE_AGENT_CONTROLLER');
  if (!url || !jid || !password || !controller) {
    const missing = [
      !url && '--xmpp (or WFE_AGENT_XMPP_URL)',
      !jid && '--jid (or WFE_AGENT_JID)',
      !password && '--password (or WFE_AGENT_PASSWORD)',
      !controller && '--controller (or WFE_AGENT_CONTROLLER)',
    ].filter(Boolean);
    throw new UsageError('agent', `missing ${missing.join(', ')}`);
  }
  const concurrency = values.concurrency ?? io.env.WFE_AGENT_CONCURRENCY;
  const workDir = values['work-dir'] ?? io.env.WFE_AGENT_WORK_DIR;

  const running = await startAgent(
    {
      ...xmppOptionsFromEnv(io.env, 'WFE_AGENT', { url, jid, password }),
      controller,
      concurrency:
        concurrency === undefined || concurrency === ''
          ? undefined
          : parsePositiveInteger('agent', 'concurrency', concurrency),
      workDir: workDir || undefined,
    },
    cliLogger(io, 'info'),
  );

  const stop = stopRequested(io);
  try {
    io.stdout(`${AGENT_READY_LINE} ${running.jid}\n`);
    const reason = await stop.promise;
    io.stdout(`wfe agent: ${reason}, stopping\n`);
  } finally {
    stop.dispose();
    await running.stop();
  }

  io.stdout('wfe agent: stopped\n');
  return 0;
}
