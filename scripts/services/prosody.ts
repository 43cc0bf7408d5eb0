import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * A real prosody XMPP server for tests and benchmarks: a child process on a
 * free loopback port, with its config, accounts and log in a temp folder.
 * Plaintext only, with PLAIN auth allowed: it is for loopback use.
 */
export interface ProsodyOptions {
  /** Accounts registered before the server starts. */
  accounts?: Array<{ user: string; password: string }>;
  /** Where config and data go; kept on stop. @default a new temp folder */
  dir?: string;
  /** @default 'localhost' */
  domain?: string;
}

export interface ProsodyServer {
  /** `xmpp://127.0.0.1:PORT` */
  url: string;
  domain: string;
  port: number;
  pid: number;
  dir: string;
  /** Adds an account (works with the server up or down). */
  register(user: string, password: string): Promise<void>;
  /** Stops the server and removes the temp folder it made. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port and data (accounts survive). */
  restart(): Promise<void>;
  /** SIGKILL, without waiting: a crash. */
  kill(): void;
}

const READY_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 4_000;

// Servers still running when the test process exits die with it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startProsody(
  options: ProsodyOptions = {},
): Promise<ProsodyServer> {
  const binaries = {
    prosody: findBinary('prosody'),
    prosodyctl: findBinary('prosodyctl'),
  };
  const domain = options.domain ?? 'localhost';
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'wfe-prosody-')));
  const port = await freePort();
  const config = join(dir, 'prosody.cfg.lua');
  const logFile = join(dir, 'prosody.log');
  const register = (user: string, password: string) =>
    run(binaries.prosodyctl, [
      '--config',
      config,
      'register',
      user,
      domain,
      password,
    ]);

  let child: Launched;
  try {
    writeConfig(config, dir, port, domain);
    for (const account of options.accounts ?? []) {
      await register(account.user, account.password);
    }
    child = await launch(binaries.prosody, config, logFile);
    await waitReady(child, port, domain);
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const server: ProsodyServer = {
    url: `xmpp://127.0.0.1:${port}`,
    domain,
    port,
    pid: child.process.pid!,
    dir,
    register,
    stop: async () => {
      await stopProcess(child.process);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopProcess(child.process);
      child = await launch(binaries.prosody, config, logFile);
      await waitReady(child, port, domain);
      server.pid = child.process.pid!;
    },
    kill: () => {
      child.process.kill('SIGKILL');
    },
  };
  return server;
}

function findBinary(name: string): string {
  const folders = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/bin',
    '/usr/sbin',
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
  throw new Error(
    `${name} is not installed: run \`apt-get install prosody\` ` +
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
  domain: string,
): void {
  const certificates = join(dir, 'certs');
  const data = join(dir, 'data');
  mkdirSync(certificates, { recursive: true });
  mkdirSync(data, { recursive: true });

  // `limits` stays out: it throttles clients to 10 kB/s. Without
  // run_as_root, prosody refuses root and then hangs instead of exiting.
  const lines = [
    'run_as_root = true',
    `data_path = ${quote(data)}`,
    `pidfile = ${quote(join(dir, 'prosody.pid'))}`,
    `certificates = ${quote(certificates)}`,
    `admin_shell_socket = ${quote(join(dir, 'prosody.sock'))}`,
    `log = { info = ${quote(join(dir, 'prosody.log'))} }`,
    'interfaces = { "127.0.0.1" }',
    'c2s_interfaces = { "127.0.0.1" }',
    `c2s_ports = { ${port} }`,
    's2s_ports = { }',
    'c2s_direct_tls_ports = { }',
    'modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "posix" }',
    'modules_disabled = { "s2s"; "tls" }',
    'c2s_require_encryption = false',
    'allow_unencrypted_plain_auth = true',
    'authentication = "internal_hashed"',
    `VirtualHost ${quote(domain)}`,
  ];
  writeFileSync(file, lines.join('\n') + '\n');
}

// Lua accepts JSON's double-quoted form for the strings we write.
function quote(value: string): string {
  return JSON.stringify(value);
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, (err, stdout, stderr) => {
      if (!err) return resolve();
      const command = `${binary} ${args.slice(0, 4).join(' ')} ...`;
      reject(new Error(`${command} failed: ${stderr || stdout}`));
    });
  });
}

interface Launched {
  process: ChildProcess;
  /** The end of its stderr and of its log file, to explain a failure. */
  output: () => string;
}

async function launch(
  binary: string,
  config: string,
  logFile: string,
): Promise<Launched> {
  const child = spawn(binary, ['-F', '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  // A spawn failure (ENOENT, EACCES) arrives as an event, not a throw.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const output = () => `${tail}\n${readTail(logFile)}`.trim();
  return { process: child, output };
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-OUTPUT_TAIL_CHARS);
  } catch {
    return '';
  }
}

async function waitReady(
  { process: child, output }: Launched,
  port: number,
  domain: string,
): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;

  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `prosody exited (${child.exitCode ?? child.signalCode}) ` +
          `before it was ready:\n${output()}`,
      );
    }
    if (await answersStreamHeader(port, domain)) return;
    await sleep(25);
  }

  await stopProcess(child);
  throw new Error(
    `prosody was not ready within ${READY_DEADLINE_MS} ms:\n${output()}`,
  );
}

/** True once the port speaks XMPP: it answers a stream header with its own. */
function answersStreamHeader(port: number, domain: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => {
      socket.write(
        `<?xml version='1.0'?><stream:stream to=${quote(domain)} ` +
          `xmlns='jabber:client' ` +
          `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
      );
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('stream:features')) finish(true);
    });
    socket.once('close', () => finish(false));
  });
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
