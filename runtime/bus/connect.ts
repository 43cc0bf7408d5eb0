import {
  connect,
  ErrorCode,
  Events,
  NatsError,
  type ConnectionOptions,
  type NatsConnection,
} from 'nats';

import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface NatsOptions {
  /** `nats://host:port`, optionally `nats://user:pass@…` or `nats://token@…`. */
  url: string;
  user?: string;
  password?: string;
  token?: string;
  /** Shown by the server's monitoring, to tell connections apart. */
  name?: string;
  /** @default 5000 */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** NATS settings from WFE_NATS_*; null when no server is named. */
export function natsOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  url?: string,
): NatsOptions | null {
  const server = url || env.WFE_NATS_URL;
  if (!server) return null;

  const options: NatsOptions = { url: server };
  if (env.WFE_NATS_USER) options.user = env.WFE_NATS_USER;
  if (env.WFE_NATS_PASSWORD) options.password = env.WFE_NATS_PASSWORD;
  if (env.WFE_NATS_TOKEN) options.token = env.WFE_NATS_TOKEN;
  return options;
}

/**
 * Connects, or fails with NATS_AUTH or NATS_UNREACHABLE within the
 * timeout. Once connected, the client reconnects forever; the bus
 * rides out a server restart.
 */
export async function connectNats(
  options: NatsOptions,
  logger: Logger,
): Promise<NatsConnection> {
  const server = parseServerUrl(options.url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const config: ConnectionOptions = {
    servers: server.address,
    // The hybrid bus delivers its own messages locally; the server must
    // not hand them back a second time.
    noEcho: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: timeoutMs,
  };
  if (options.name) config.name = options.name;
  const user = options.user ?? server.user;
  const password = options.password ?? server.password;
  const token = options.token ?? server.token;
  if (user !== undefined) config.user = user;
  if (password !== undefined) config.pass = password;
  if (token !== undefined) config.token = token;

  const nc = await withDeadline(connect(config), timeoutMs, server.display);
  watchStatus(nc, server.display, logger);
  logger.info({ url: server.display }, 'nats connected');
  return nc;
}

interface ServerUrl {
  /** Without credentials, as handed to the client. */
  address: string;
  /** Safe to log: the user at most, never a password or token. */
  display: string;
  user?: string;
  password?: string;
  token?: string;
}

// The client ignores credentials written in the URL, so take them out.
function parseServerUrl(url: string): ServerUrl {
  const withScheme = url.includes('://') ? url : `nats://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new WfeError('NATS_BAD_URL', `not a NATS server URL: ${url}`, {
      details: { url },
    });
  }

  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const address = parsed.toString().replace(/\/$/, '');

  if (!user) return { address, display: address };
  const display = address.replace('://', `://${password ? user : '***'}@`);
  // As in the NATS convention, a lone user part is a token.
  return password
    ? { address, display, user, password }
    : { address, display, token: user };
}

/** The client's own timeout covers the dial; this covers everything. */
function withDeadline(
  attempt: Promise<NatsConnection>,
  timeoutMs: number,
  display: string,
): Promise<NatsConnection> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(unreachable(display, timeoutMs));
    }, timeoutMs + 500);

    attempt.then(
      (nc) => {
        clearTimeout(timer);
        // A connection that arrives after we gave up must not linger.
        if (late) void nc.close();
        else resolve(nc);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(connectError(err, display, timeoutMs));
      },
    );
  });
}

function connectError(
  err: unknown,
  display: string,
  timeoutMs: number,
): WfeError {
  const code = natsErrorCode(err);
  if (
    code === ErrorCode.AuthorizationViolation ||
    code === ErrorCode.BadAuthentication ||
    code === ErrorCode.AuthenticationExpired
  ) {
    return new WfeError(
      'NATS_AUTH',
      `the NATS server at ${display} refused the credentials`,
      { details: { url: display }, cause: err },
    );
  }
  return unreachable(display, timeoutMs, err);
}

/** The client's error code (an ErrorCode), if it is the client's error. */
export function natsErrorCode(err: unknown): string | undefined {
  return err instanceof NatsError ? err.code : undefined;
}

function unreachable(
  display: string,
  timeoutMs: number,
  cause?: unknown,
): WfeError {
  return new WfeError(
    'NATS_UNREACHABLE',
    `cannot reach the NATS server at ${display}`,
    { retryable: true, details: { url: display, timeoutMs }, cause },
  );
}

/** Logs disconnects, reconnects and async errors until the end. */
function watchStatus(
  nc: NatsConnection,
  display: string,
  logger: Logger,
): void {
  void (async () => {
    for await (const status of nc.status()) {
      const fields = { url: display, data: status.data };
      switch (status.type) {
        case Events.Disconnect:
          logger.warn(fields, 'nats disconnected');
          break;
        case Events.Reconnect:
          logger.info(fields, 'nats reconnected');
          break;
        case Events.Error:
        case Events.LDM:
          logger.warn({ ...fields, event: status.type }, 'nats problem');
          break;
        default:
          logger.debug({ ...fields, event: status.type }, 'nats status');
      }
    }
  })().catch((err: unknown) =>
    logger.warn({ err, url: display }, 'nats status watch ended'),
  );

  void nc.closed().then((err) => {
    if (err) logger.warn({ err, url: display }, 'nats connection lost');
    else logger.info({ url: display }, 'nats connection closed');
  });
}
