import {
  connectNats,
  natsOptionsFromEnv,
  type NatsOptions,
} from '../bus/connect.js';
import { NatsBus } from '../bus/nats.js';
import { toWfeError, WfeError } from '../errors.js';
import { UsageError } from './args.js';
import { cliLogger, type CliIo } from './io.js';

/**
 * The help lines of `--nats`, its text starting `column` characters after
 * the flag, as in the help around it.
 */
export function natsFlagHelp(column: number): string {
  const pad = ' '.repeat(column + 2);
  return [
    `${'--nats URL'.padEnd(column)}the NATS server of the engines (env WFE_NATS_URL;`,
    `${pad}credentials from WFE_NATS_USER and WFE_NATS_PASSWORD,`,
    `${pad}or WFE_NATS_TOKEN)`,
  ].join('\n');
}

/**
 * `--nats`, else WFE_NATS_URL, with credentials from the environment.
 */
export function requireNatsOptions(
  command: string,
  io: CliIo,
  flag: string | undefined,
): NatsOptions {
  const options = natsOptionsFromEnv(io.env, flag);
  if (!options) {
    throw new UsageError(
      command,
      'no NATS server: give --nats URL or set WFE_NATS_URL',
    );
  }
  return options;
}

/**
 * Where commands that read jobs read them: the engines on NATS with
 * --nats, the store with --data or --mongodb, else NATS if WFE_NATS_URL
 * names a server; null means the store.
 */
export function readerNatsOptions(
  command: string,
  io: CliIo,
  flags: { nats?: string; data?: string; mongodb?: string },
): NatsOptions | null {
  const storeFlag = flags.data !== undefined || flags.mongodb !== undefined;
  if (flags.nats !== undefined && storeFlag) {
    throw new UsageError(
      command,
      'give --nats to ask the engines, or --data or --mongodb to read a ' +
        'store, not both',
    );
  }
  if (storeFlag) return null;
  return natsOptionsFromEnv(io.env, flags.nats);
}

/** The server as it may be shown: without a password or token. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
    if (parsed.password) parsed.password = '***';
    else if (parsed.username) parsed.username = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Connects, hands a bus to `use`, and closes the connection whatever
 * happens. Logs go to stderr at warn, so a lost connection is heard.
 */
export async function withNatsBus<T>(
  io: CliIo,
  options: NatsOptions,
  use: (bus: NatsBus) => Promise<T>,
): Promise<T> {
  const logger = cliLogger(io, 'warn');
  const nc = await connectNats({ name: 'wfe cli', ...options }, logger);
  const bus = new NatsBus({ connection: nc, logger });
  try {
    return await use(bus);
  } finally {
    await bus.close();
    await nc.close();
  }
}

/** Nobody serving a subject means no engine there; say what to do. */
export function explainNoEngine(err: unknown, options: NatsOptions): never {
  const error = toWfeError(err);
  if (error.code !== 'NO_RESPONDERS') throw error;
  throw new WfeError(
    'NO_RESPONDERS',
    `${error.message} at ${displayUrl(options.url)}; is an engine ` +
      'running there (wfe start --nats URL)?',
    { retryable: true, details: error.details, cause: err },
  );
}
