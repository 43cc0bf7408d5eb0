import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * What the test servers (nats-server, prosody, ferretdb) share: finding
 * the binary, a free loopback port, running it as a child with the tail
 * of its stderr kept, waiting until it is ready, and stopping it by PID.
 */

const READY_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

// Servers still running when the test process exits die with it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Launched {
  process: ChildProcess;
  /** The end of what it wrote to stderr. */
  stderr(): string;
}

/** Where to look for a binary beyond PATH, and how to install it. */
export interface BinarySource {
  /** Searched after PATH and the system folders. */
  folders?: string[];
  /** Said when it is nowhere: how to get it. */
  installHint: string;
}

/**
 * The binary's path, or an error saying how to install it. A string
 * `source` names the Debian package it comes in.
 */
export function findBinary(
  name: string,
  source: string | BinarySource,
): string {
  const extraFolders = typeof source === 'string' ? [] : (source.folders ?? []);
  const folders = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/bin',
    ...extraFolders,
  ];
  for (const folder of folders) {
    if (!folder) continue;
    const file = join(folder, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; keep looking
    }
  }

  const hint =
    typeof source === 'string'
      ? `run \`apt-get install ${source}\` ` +
        '(scripts/services/install.sh does it)'
      : source.installHint;
  throw new Error(`${name} is not installed: ${hint}`);
}

/** A port the OS just handed out; free unless someone races us for it. */
export function freePort(): Promise<number> {
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

/** Starts the binary; resolves once the process exists. */
export async function launch(
  binary: string,
  args: string[],
): Promise<Launched> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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

/**
 * Polls `ready` until it says yes. A process that exits first, or that
 * is not ready in time, fails with `explain()` (its output) attached.
 */
export async function waitReady(
  name: string,
  child: ChildProcess,
  ready: () => Promise<boolean>,
  explain: () => string,
  deadlineMs = READY_DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;

  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) ` +
          `before it was ready:\n${explain()}`,
      );
    }
    if (await ready()) return;
    await sleep(25);
  }

  await stopProcess(child);
  throw new Error(
    `${name} was not ready within ${deadlineMs} ms:\n${explain()}`,
  );
}

/** Waits until `url` answers 200: a server's health or readiness probe. */
export function waitHttpOk(
  name: string,
  child: Launched,
  url: string,
): Promise<void> {
  const ok = async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(500) });
      return response.ok;
    } catch {
      return false; // not listening yet
    }
  };
  return waitReady(name, child.process, ok, child.stderr);
}

/** SIGTERM, then SIGKILL if it is still there after a grace period. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise<void>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A test server run as a child process, as the scripts here start them. */
export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** Its config and data. */
  dir: string;
  /** Stops the server, and removes `dir` if it was made for it. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port and data (data survives). */
  restart(): Promise<void>;
  /** SIGKILL, without waiting: a crash. */
  kill(): void;
}

/**
 * Starts a server with `start` (which launches it and waits until it is
 * ready) and returns its handle; `start` runs again on each restart.
 */
export async function runServer(options: {
  url: string;
  port: number;
  dir: string;
  /** Whether `dir` was made for this server, to remove on stop. */
  ownDir: boolean;
  start(): Promise<Launched>;
}): Promise<ServerProcess> {
  const { dir, ownDir } = options;
  let child: Launched;
  try {
    child = await options.start();
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const server: ServerProcess = {
    url: options.url,
    port: options.port,
    pid: child.process.pid!,
    dir,
    stop: async () => {
      await stopProcess(child.process);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopProcess(child.process);
      child = await options.start();
      server.pid = child.process.pid!;
    },
    kill: () => {
      child.process.kill('SIGKILL');
    },
  };
  return server;
}
