import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

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

export interface NatsServer {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Stops the server and removes the temp folder it made. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port and store (data survives). */
  restart(): Promise<void>;
  /** SIGKILL, without waiting: a crash. */
  kill(): void;
}

const READY_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

// Servers still running when the test process exits die with it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startNatsServer(
  options: NatsServerOptions = {},
): Promise<NatsServer> {
  const binary = findBinary();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'wfe-nats-')));
  const port = await freePort();
  const httpPort = await freePort();
  const config = join(dir, 'nats.conf');

  let child: Launched;
  try {
    child = await launch(binary, config, () =>
      writeConfig(config, dir, port, httpPort, options),
    );
    await waitReady(child.process, httpPort, child.stderr);
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.process.pid!,
    dir,
    stop: async () => {
      await stopProcess(child.process);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopProcess(child.process);
      child = await launch(binary, config, () =>
        writeConfig(config, dir, port, httpPort, options),
      );
      await waitReady(child.process, httpPort, child.stderr);
      server.pid = child.process.pid!;
    },
    kill: () => {
      child.process.kill('SIGKILL');
    },
  };
  return server;
}

function findBinary(): string {
  const folders = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/bin',
  ];
  for (const folder of folders) {
    if (!folder) continue;
    const file = join(folder, 'nats-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(
    'nats-server is not installed: run `apt-get install nats-server` ' +
      '(scripts/services/install.sh does it)',
  );
}

/** A port the OS just handed out; free unless someone races us for it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
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

interface Launched {
  process: ChildProcess;
  stderr: () => string;
}

async function launch(
  binary: string,
  config: string,
  prepare: () => void,
): Promise<Launched> {
  prepare();

  const child = spawn(binary, ['-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  // A spawn failure (ENOENT, EACCES) arrives as an event, not a throw.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return { process: child, stderr: () => tail };
}

async function waitReady(
  child: ChildProcess,
  httpPort: number,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  const url = `http://127.0.0.1:${httpPort}/healthz`;

  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `nats-server exited (${child.exitCode ?? child.signalCode}) ` +
          `before it was ready:\n${stderr()}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(25);
  }

  await stopProcess(child);
  throw new Error(
    `nats-server was not ready within ${READY_DEADLINE_MS} ms:\n${stderr()}`,
  );
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise<void>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
