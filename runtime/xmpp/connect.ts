import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import {
  client as createClient,
  type Authenticate,
  type Client,
  type Transport,
} from '@xmpp/client';

import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  parseXmppOptions,
  type ParsedXmppOptions,
  type XmppOptions,
} from './options.js';

export { xmppOptionsFromEnv, type XmppOptions } from './options.js';

/**
 * A logged-in XMPP client. After the first login it reconnects by itself
 * (the client's reconnect module, every second) and logs status changes.
 */
export interface XmppConnection {
  client: Client;
  /** The full JID after resource binding; kept across reconnects. */
  readonly jid: string;
  /** The SASL mechanism of the last login: PLAIN unless the server lacks it. */
  readonly mechanism: string;
  /** Closes the stream and stops reconnecting. Safe to call twice. */
  stop(): Promise<void>;
}

const PLAIN = 'PLAIN';
const CLEANUP_WAIT_MS = 1_000;

// Socket and DNS failures: the server is not there (yet).
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * Logs in and resolves once online. PLAIN auth (fast) is used only where
 * the password cannot be read on the way: loopback or TLS; anything else
 * is refused with XMPP_INSECURE before the password is sent.
 */
export async function connectXmpp(
  options: XmppOptions,
  logger: Logger,
): Promise<XmppConnection> {
  const parsed = parseXmppOptions(options);
  checkSecurity(parsed);
  const ca = readCa(parsed);
  const resource = parsed.resource ?? `wfe-${randomBytes(4).toString('hex')}`;
  const bare = `${parsed.local}@${parsed.domain}`;
  const log = logger.child({ xmpp: parsed.url, jid: bare });
  let mechanism = '';

  const client = createClient({
    service: parsed.url,
    domain: parsed.domain,
    resource,
    credentials: async (authenticate, mechanisms, _fast, entity) => {
      mechanism = await login(parsed, authenticate, mechanisms, entity);
    },
  });
  if (ca !== undefined) addCaToDirectTls(client, ca);
  decodeAcrossReads(client);

  // Reconnecting is for a link that was up; a failed first login is final.
  client.reconnect.stop();
  let online = false;
  watch(client, log, () => online);

  try {
    await withDeadline(client.start(), parsed);
  } catch (err) {
    await abandon(client);
    throw toXmppError(err, parsed, bare);
  }
  online = true;
  client.reconnect.start();

  let stopped = false;
  return {
    client,
    get jid() {
      return client.jid?.toString() ?? `${bare}/${resource}`;
    },
    get mechanism() {
      return mechanism;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      client.reconnect.stop();
      await client.stop().catch((err: unknown) => {
        log.debug({ err }, 'xmpp stop failed; the link was already gone');
      });
    },
  };
}

function checkSecurity(parsed: ParsedXmppOptions): void {
  if (parsed.loopback || parsed.tls || parsed.starttls) return;
  throw insecure(parsed);
}

function insecure(parsed: ParsedXmppOptions): WfeError {
  return new WfeError(
    'XMPP_INSECURE',
    `refusing to send a password in the clear to ${parsed.url}: use ` +
      'xmpps://host:port (direct TLS), or set starttls (WFE_*_STARTTLS=1) ' +
      'for a server that offers STARTTLS; plaintext is for loopback only',
    { details: { url: parsed.url } },
  );
}

/** Picks PLAIN, once the link is known to be safe for a password. */
async function login(
  parsed: ParsedXmppOptions,
  authenticate: Authenticate,
  mechanisms: string[],
  entity: Client,
): Promise<string> {
  // With starttls the upgrade may not have happened: the server decides.
  if (!parsed.loopback && !entity.isSecure()) throw insecure(parsed);

  const credentials = { username: parsed.local, password: parsed.password };
  // SCRAM costs ~1.3 s of hashing per login; PLAIN is safe on this link.
  const mechanism = mechanisms.includes(PLAIN) ? PLAIN : mechanisms[0];
  if (mechanism === undefined) {
    throw new WfeError(
      'XMPP_AUTH',
      `${parsed.url} offers no SASL mechanism this client supports`,
    );
  }
  await authenticate(credentials, mechanism);
  return mechanism;
}

/**
 * Reads the CA for TLS. Direct TLS (xmpps://) takes it as a socket
 * option; @xmpp/starttls passes no options through, so STARTTLS can only
 * trust it through NODE_EXTRA_CA_CERTS, read by node at start-up.
 */
function readCa(parsed: ParsedXmppOptions): string | undefined {
  if (parsed.caFile === undefined) return undefined;

  if (!parsed.tls) {
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra === undefined || resolve(extra) !== resolve(parsed.caFile)) {
      throw new WfeError(
        'BAD_CONFIG',
        `a CA file for STARTTLS must be given to node at start-up: ` +
          `run with NODE_EXTRA_CA_CERTS=${parsed.caFile}, ` +
          'or use xmpps:// (direct TLS), which takes the CA file itself',
      );
    }
    return undefined;
  }

  try {
    return readFileSync(parsed.caFile, 'utf8');
  } catch (err) {
    throw new WfeError(
      'BAD_CONFIG',
      `cannot read the XMPP CA file ${parsed.caFile}`,
      { cause: err },
    );
  }
}

/** Makes the xmpps:// transport trust `ca` (its socket options are ours). */
function addCaToDirectTls(client: Client, ca: string): void {
  client.transports = client.transports.map((base) => {
    const handlesTls = (() => {
      try {
        return base.prototype.socketParameters('xmpps://x:1') !== undefined;
      } catch {
        return false;
      }
    })();
    if (!handlesTls) return base;

    // Transports are plain JS classes; the declaration only types their use.
    const Base = base as unknown as new (...args: never[]) => {
      socketParameters(service: string): object | undefined;
    };
    class WithCa extends Base {
      override socketParameters(service: string): object | undefined {
        const params = super.socketParameters(service);
        return params && { ...params, ca };
      }
    }
    return WithCa as unknown as Transport;
  });
}

/** What @xmpp/connection 0.14 keeps on the client, untyped. */
interface ConnectionInternals {
  socket: unknown;
  parser: { write(text: string): void } | null;
  _onData(data: Buffer | string): void;
}

/**
 * @xmpp/connection 0.14 decodes each socket read on its own
 * (`data.toString('utf8')` in `_onData`), so a character split across two
 * reads becomes U+FFFD. Its socket listener binds `this._onData` at the
 * first connect, so an own method set before `start()` replaces it. The
 * decoder keeps a partial character between reads and starts anew with
 * each socket (reconnect, STARTTLS), whose bytes share no character.
 */
function decodeAcrossReads(client: Client): void {
  const internals = client as unknown as ConnectionInternals;
  let socket: unknown = null;
  let decoder = new StringDecoder('utf8');

  internals._onData = (data) => {
    if (internals.socket !== socket) {
      socket = internals.socket;
      decoder = new StringDecoder('utf8');
    }
    // The websocket transport hands over strings, already whole.
    const text = typeof data === 'string' ? data : decoder.write(data);
    if (text !== '') internals.parser?.write(text);
  };
}

function watch(client: Client, log: Logger, isUp: () => boolean): void {
  client.on('status', (status) => {
    if (!isUp()) log.debug({ status }, 'xmpp status');
    else if (status === 'online') log.info({ status }, 'xmpp back online');
    else if (status === 'disconnect') log.warn({ status }, 'xmpp link lost');
    else log.debug({ status }, 'xmpp status');
  });

  // Without a listener an 'error' event would crash the process. Before
  // the first login the error is thrown to the caller instead.
  client.on('error', (err) => {
    if (isUp()) log.warn({ err }, 'xmpp error');
  });
}

async function withDeadline(
  started: Promise<unknown>,
  parsed: ParsedXmppOptions,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(unreachable(parsed, `no login within ${parsed.timeoutMs} ms`)),
      parsed.timeoutMs,
    );
  });
  try {
    await Promise.race([started, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Drops a half-open link without waiting long for a polite close. */
async function abandon(client: Client): Promise<void> {
  const stopped = client.stop().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise((done) => {
    timer = setTimeout(done, CLEANUP_WAIT_MS);
  });
  await Promise.race([stopped, waited]);
  clearTimeout(timer);

  // A server that never answers would keep a half-closed socket open.
  const socket = client.socket as {
    destroy?: () => void;
    socket?: { destroy(): void } | null;
  } | null;
  if (socket?.destroy) socket.destroy();
  else socket?.socket?.destroy();
}

function toXmppError(
  err: unknown,
  parsed: ParsedXmppOptions,
  bare: string,
): WfeError {
  if (err instanceof WfeError) return err;

  const { name, code, condition } = err as {
    name?: unknown;
    code?: unknown;
    condition?: unknown;
  };
  if (name === 'SASLError') {
    return new WfeError(
      'XMPP_AUTH',
      `${parsed.url} refused the login of ${bare} (${String(condition)})`,
      { details: { jid: bare, condition } },
    );
  }
  if (name === 'StreamError' && condition === 'host-unknown') {
    return new WfeError(
      'BAD_CONFIG',
      `${parsed.url} does not serve the domain ${parsed.domain}`,
      { details: { url: parsed.url, domain: parsed.domain } },
    );
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return unreachable(parsed, code, err);
  }
  if (name === 'TimeoutError') return unreachable(parsed, 'timed out', err);
  if (typeof code === 'string' && /CERT|SSL|TLS/.test(code)) {
    return new WfeError(
      'XMPP_TLS',
      `the TLS certificate of ${parsed.url} is not trusted (${code}); ` +
        'give its CA with caFile',
      { cause: err, details: { url: parsed.url, code } },
    );
  }
  return unreachable(parsed, String(name ?? 'failed'), err);
}

function unreachable(
  parsed: ParsedXmppOptions,
  reason: string,
  cause?: unknown,
): WfeError {
  return new WfeError(
    'XMPP_UNREACHABLE',
    `cannot reach the XMPP server at ${parsed.url} (${reason})`,
    { retryable: true, cause, details: { url: parsed.url } },
  );
}
