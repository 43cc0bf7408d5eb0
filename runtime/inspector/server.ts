import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';

import { WfeError } from '../errors.js';
import { JobsApi } from './api.js';
import { loadAssets, type Asset } from './assets.js';
import {
  checkHost,
  isLoopback,
  presentedToken,
  tokenCookie,
  tokenMatches,
} from './auth.js';
import { sendError, sendJson } from './http.js';
import { startMetrics, type MetricsSampler } from './metrics.js';
import { OverviewFeed, overviewOf, type OverviewSource } from './overview.js';
import { EventStream } from './sse.js';
import type { InspectorTarget } from './target.js';

export const DEFAULT_INSPECTOR_PORT = 7420;

export interface InspectorOptions {
  target: InspectorTarget;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Without a port, the default one is tried, then any free one; a port
   * given that is taken is an error.
   */
  port?: number;
  /** Required off loopback; on loopback, required when given. */
  token?: string;
  /** The engine's version, shown in the header. */
  version: string;
  now?: () => number;
  /** Where the built page is. @default dist/inspector-ui */
  assetsDir?: string;
}

export interface Inspector {
  /** The page's address, with the token when there is one. */
  readonly url: string;
  readonly port: number;
  /** Pages connected to the live feed. */
  clients(): number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Serves the inspector page and its API until closed. */
export async function startInspector(
  options: InspectorOptions,
): Promise<Inspector> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token === '' ? undefined : options.token;
  if (!isLoopback(host) && token === undefined) {
    throw new WfeError(
      'BAD_CONFIG',
      `serving the inspector on ${host} needs an access token: give ` +
        '--inspector-token TOKEN or WFE_INSPECTOR_TOKEN, or keep it on ' +
        '127.0.0.1',
    );
  }

  const now = options.now ?? Date.now;
  const { target } = options;
  const metrics = startMetrics(target.introspection, { now });
  const source: OverviewSource = {
    owner: target.owner,
    role: target.role,
    store: { kind: target.store.kind, location: target.store.location },
    version: options.version,
    introspection: target.introspection,
    metrics,
    now,
  };
  const feed = new OverviewFeed(source);
  const routes = new Routes({
    target,
    source,
    feed,
    assets: await loadAssets(options.assetsDir),
    token,
    loopbackOnly: isLoopback(host),
  });

  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      response.setHeader(name, value);
    }
    routes.handle(request, response).catch((err: unknown) => {
      sendError(response, err);
    });
  });

  let port: number;
  try {
    port = await listen(server, host, options.port);
  } catch (err) {
    metrics.stop();
    throw err;
  }
  if (options.port === undefined && port !== DEFAULT_INSPECTOR_PORT) {
    // Expected with several engines on one host; the address is printed.
    target.logger.info(
      { wanted: DEFAULT_INSPECTOR_PORT, port },
      'the inspector port was taken; listening on another',
    );
  }

  const shown = shownHost(host);
  const query = token ? `/?token=${encodeURIComponent(token)}` : '/';
  target.logger.info(
    { host, port, token: token !== undefined },
    'inspector listening',
  );

  return {
    url: `http://${shown}:${port}${query}`,
    port,
    clients: () => feed.clients,
    close: () => close(server, feed, metrics),
  };
}

/** Where to point a browser: a wildcard address is this host's name. */
function shownHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}

async function listen(
  server: Server,
  host: string,
  port: number | undefined,
): Promise<number> {
  try {
    return await listenOn(server, host, port ?? DEFAULT_INSPECTOR_PORT);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A second engine on this host takes any free port instead.
    if (code === 'EADDRINUSE' && port === undefined) {
      return listenOn(server, host, 0);
    }
    throw listenError(err, host, port ?? DEFAULT_INSPECTOR_PORT);
  }
}

function listenOn(server: Server, host: string, port: number) {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function listenError(err: unknown, host: string, port: number): WfeError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new WfeError(
      'INSPECTOR_PORT_IN_USE',
      `the inspector cannot listen on ${host}:${port}: the port is taken; ` +
        'give another with --inspector-port, or 0 for any free one',
    );
  }
  return new WfeError(
    'BAD_CONFIG',
    `the inspector cannot listen on ${host}:${port}: ` +
      `${(err as Error).message}`,
    { cause: err },
  );
}

async function close(
  server: Server,
  feed: OverviewFeed,
  metrics: MetricsSampler,
): Promise<void> {
  metrics.stop();
  feed.close();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Job streams and idle keep-alive sockets would hold close() open.
  server.closeAllConnections();
  await closed;
}

interface RoutesOptions {
  target: InspectorTarget;
  source: OverviewSource;
  feed: OverviewFeed;
  assets: Map<string, Asset> | null;
  token: string | undefined;
  loopbackOnly: boolean;
}

const JOB_PATH = /^\/api\/jobs\/([0-9a-z]{1,64})(\/[a-z.]+)?$/;

class Routes {
  readonly #options: RoutesOptions;
  readonly #jobs: JobsApi;

  constructor(options: RoutesOptions) {
    this.#options = options;
    this.#jobs = new JobsApi(options.target);
  }

  async handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://inspector');
    if (this.#options.loopbackOnly) {
      checkHost(request, ['127.0.0.1', 'localhost', '[::1]']);
    }
    if (!this.#allowed(request, url, response)) return;

    const method = request.method ?? 'GET';
    const path = url.pathname;
    const job = JOB_PATH.exec(path);
    if (job) return this.#job(job[1]!, job[2] ?? '', method, request, response);
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, path);

    if (path === '/api/overview') {
      return sendJson(response, 200, overviewOf(this.#options.source));
    }
    if (path === '/api/stream') {
      return this.#options.feed.add(new EventStream(response));
    }
    if (path === '/api/actions') return this.#jobs.actions(response);
    if (path === '/api/jobs') return this.#jobs.list(url, response);
    if (path.startsWith('/api/')) {
      throw new WfeError('NOT_FOUND', `no API at ${path}`);
    }
    this.#asset(path, response);
  }

  #job(
    id: string,
    rest: string,
    method: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> | void {
    const jobs = this.#jobs;
    const route = `${method} ${rest}`;
    if (route === 'GET ') return jobs.detail(id, response);
    if (route === 'GET /stream') return jobs.stream(id, response);
    if (route === 'GET /diagram.svg') return jobs.diagram(id, response);
    if (route === 'POST /cancel') return jobs.cancel(id, request, response);
    if (route === 'POST /events') return jobs.event(id, request, response);
    if (['', '/stream', '/diagram.svg', '/cancel', '/events'].includes(rest)) {
      notAllowed(method, `/api/jobs/${id}${rest}`);
    }
    throw new WfeError('NOT_FOUND', `no API at /api/jobs/${id}${rest}`);
  }

  /**
   * Checks the token when there is one. A page opened with `?token=`
   * gets it as a cookie and goes to the same address without it, so the
   * token does not stay in the address bar or the history.
   */
  #allowed(
    request: IncomingMessage,
    url: URL,
    response: ServerResponse,
  ): boolean {
    const { token } = this.#options;
    if (token === undefined) return true;
    if (!tokenMatches(token, presentedToken(request, url))) {
      throw new WfeError(
        'UNAUTHORIZED',
        'this inspector needs its access token: open the address that ' +
          "'wfe start' printed, or send Authorization: Bearer TOKEN",
      );
    }
    if (url.searchParams.has('token') && !url.pathname.startsWith('/api/')) {
      url.searchParams.delete('token');
      response.writeHead(303, {
        'Set-Cookie': tokenCookie(token),
        Location: url.pathname + url.search,
      });
      response.end();
      return false;
    }
    return true;
  }

  #asset(path: string, response: ServerResponse): void {
    const { assets } = this.#options;
    if (assets === null) {
      throw new WfeError(
        'UI_NOT_BUILT',
        'the inspector page is not built: run npm run build',
      );
    }
    const asset = assets.get(path);
    if (!asset) throw new WfeError('NOT_FOUND', `nothing at ${path}`);
    response.writeHead(200, {
      'Content-Type': asset.type,
      'Cache-Control': 'no-cache',
    });
    response.end(asset.body);
  }
}

function notAllowed(method: string, path: string): never {
  throw new WfeError(
    'METHOD_NOT_ALLOWED',
    `${method} is not allowed on ${path}`,
  );
}
