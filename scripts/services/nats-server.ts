import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  findBinary,
  freePort,
  launch,
  runServer,
  waitHttpOk,
  type Launched,
  type ServerProcess,
} from './child-process.js';

/**
 * A real nats-server for tests and benchmarks: a child process on free
 * loopback ports, with its config and JetStream data in a temp folder.
 */
export interface NatsServerOptions {
  /** @default true */
  jetstream?: boolean;
  auth?: { user: string; password: string } | { token: string };
  /** Largest message the server accepts, in bytes. */
  maxPayload?: number;
  /** Where config and data go; kept on stop. @default a new temp folder */
  dir?: string;
}

/** A running nats-server; `url` is `nats://127.0.0.1:PORT`. */
export type NatsServer = ServerProcess;

export async function startNatsServer(
  options: NatsServerOptions = {},
): Promise<NatsServer> {
  const binary = findBinary('nats-server', 'nats-server');
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'wfe-nats-')));
  const port = await freePort();
  const httpPort = await freePort();
  const config = join(dir, 'nats.conf');

  return runServer({
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    ownDir,
    start: async () => {
      writeConfig(config, dir, port, httpPort, options);
      const child = await start(binary, config);
      await waitHealthy(child, httpPort);
      return child;
    },
  });
}

function writeConfig(
  file: string,
  dir: string,
  port: number,
  httpPort: number,
  options: NatsServerOptions,
): void {
  const lines = [
    'host: 127.0.0.1',
    `port: ${port}`,
    `http: "127.0.0.1:${httpPort}"`,
  ];
  if (options.maxPayload !== undefined) {
    lines.push(`max_payload: ${options.maxPayload}`);
  }
  if (options.jetstream ?? true) {
    lines.push(`jetstream { store_dir: ${quote(join(dir, 'store'))} }`);
  }
  if (options.auth && 'token' in options.auth) {
    lines.push(`authorization { token: ${quote(options.auth.token)} }`);
  } else if (options.auth) {
    lines.push(
      `authorization { user: ${quote(options.auth.user)}, ` +
        `password: ${quote(options.auth.password)} }`,
    );
  }

  mkdirSync(dir, { recursive: true });
  writeFileSync(file, lines.join('\n') + '\n');
}

// nats-server config strings accept JSON's double-quoted form.
function quote(value: string): string {
  return JSON.stringify(value);
}

function start(binary: string, config: string): Promise<Launched> {
  return launch(binary, ['-c', config]);
}

function waitHealthy(child: Launched, httpPort: number): Promise<void> {
  return waitHttpOk(
    'nats-server',
    child,
    `http://127.0.0.1:${httpPort}/healthz`,
  );
}
