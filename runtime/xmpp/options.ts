import { isIP } from 'node:net';

import { WfeError } from '../errors.js';

/** How to reach an XMPP server and who to log in as. */
export interface XmppOptions {
  /** `xmpp://host[:5222]`, or `xmpps://host[:5223]` for direct TLS. */
  url: string;
  /** `user@domain` or `user@domain/resource`. */
  jid: string;
  password: string;
  /** Wins over a resource in `jid`. @default a random `wfe-...` one */
  resource?: string;
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /**
   * Upgrade an `xmpp://` link to a non-loopback host with STARTTLS; the
   * login fails with XMPP_INSECURE if the server does not offer it.
   */
  starttls?: boolean;
  /** Deadline for the first login, in ms. @default 5000 */
  timeoutMs?: number;
}

/** XmppOptions checked and taken apart. */
export interface ParsedXmppOptions {
  url: string;
  tls: boolean;
  starttls: boolean;
  /** 127.0.0.0/8, ::1 or localhost: a password may cross it in the clear. */
  loopback: boolean;
  local: string;
  domain: string;
  resource: string | undefined;
  password: string;
  caFile: string | undefined;
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export function parseXmppOptions(options: XmppOptions): ParsedXmppOptions {
  const url = parseUrl(options.url);
  const jid = parseJid(options.jid);

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new WfeError(
      'BAD_CONFIG',
      `XMPP timeout must be a positive number of ms, got ${timeoutMs}`,
    );
  }

  return {
    url: options.url,
    tls: url.protocol === 'xmpps:',
    starttls: options.starttls ?? false,
    loopback: isLoopback(url.hostname),
    local: jid.local,
    domain: jid.domain,
    resource: options.resource ?? jid.resource,
    password: options.password,
    caFile: options.caFile,
    timeoutMs,
  };
}

/**
 * Reads `<PREFIX>_URL`, `_JID`, `_PASSWORD`, `_RESOURCE`, `_CA_FILE`,
 * `_STARTTLS` (1/true) and `_TIMEOUT_MS`; `overrides` win over them.
 */
export function xmppOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  prefix: 'WFE_XMPP' | 'WFE_AGENT',
  overrides: Partial<XmppOptions> = {},
): XmppOptions {
  const read = (name: string) => env[`${prefix}_${name}`] || undefined;
  const required = (name: string, override: string | undefined) => {
    const value = override ?? read(name);
    if (value === undefined) {
      throw new WfeError('BAD_CONFIG', `${prefix}_${name} is not set`);
    }
    return value;
  };
  const timeout = read('TIMEOUT_MS');
  const starttls = read('STARTTLS');

  const options: XmppOptions = {
    url: required('URL', overrides.url),
    jid: required('JID', overrides.jid),
    password: required('PASSWORD', overrides.password),
  };
  const resource = overrides.resource ?? read('RESOURCE');
  if (resource !== undefined) options.resource = resource;
  const caFile = overrides.caFile ?? read('CA_FILE');
  if (caFile !== undefined) options.caFile = caFile;
  if (overrides.starttls !== undefined) options.starttls = overrides.starttls;
  else if (starttls !== undefined)
    options.starttls = /^(1|true)$/i.test(starttls);
  if (overrides.timeoutMs !== undefined)
    options.timeoutMs = overrides.timeoutMs;
  else if (timeout !== undefined) options.timeoutMs = Number(timeout);
  return options;
}

function parseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badUrl(value);
  }
  if (url.protocol !== 'xmpp:' && url.protocol !== 'xmpps:')
    throw badUrl(value);
  if (!url.hostname) throw badUrl(value);
  return url;
}

function badUrl(value: string): WfeError {
  return new WfeError(
    'BAD_CONFIG',
    `XMPP url must look like xmpp://host:port or xmpps://host:port, ` +
      `got ${JSON.stringify(value)}`,
  );
}

function parseJid(value: string): {
  local: string;
  domain: string;
  resource: string | undefined;
} {
  const match = /^([^@/\s]+)@([^@/\s]+)(?:\/(\S+))?$/.exec(value);
  if (!match) {
    throw new WfeError(
      'BAD_CONFIG',
      `XMPP jid must look like user@domain[/resource], ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return { local: match[1]!, domain: match[2]!, resource: match[3] };
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
