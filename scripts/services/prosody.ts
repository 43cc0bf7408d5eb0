import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  findBinary,
  freePort,
  launch,
  stopProcess,
  waitReady,
} from './child-process.js';

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

const OUTPUT_TAIL_CHARS = 4_000;

export async function startProsody(
  options: ProsodyOptions = {},
): Promise<ProsodyServer> {
  const binaries = {
    prosody: findBinary('prosody', 'prosody'),
    prosodyctl: findBinary('prosodyctl', 'prosody'),
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

  let child: Prosody;
  try {
    writeConfig(config, dir, port, domain);
    for (const account of options.accounts ?? []) {
      await register(account.user, account.password);
    }
    child = await start(binaries.prosody, config, logFile);
    await waitSpeaking(child, port, domain);
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
      child = await start(binaries.prosody, config, logFile);
      await waitSpeaking(child, port, domain);
      server.pid = child.process.pid!;
    },
    kill: () => {
      child.process.kill('SIGKILL');
    },
  };
  return server;
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

interface Prosody {
  process: ChildProcess;
  /** The end of its stderr and of its log file, to explain a failure. */
  output: () => string;
}

async function start(
  binary: string,
  config: string,
  logFile: string,
): Promise<Prosody> {
  const child = await launch(binary, ['-F', '--config', config]);
  const output = () => `${child.stderr()}\n${readTail(logFile)}`.trim();
  return { process: child.process, output };
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-OUTPUT_TAIL_CHARS);
  } catch {
    return '';
  }
}

function waitSpeaking(
  { process: child, output }: Prosody,
  port: number,
  domain: string,
): Promise<void> {
  return waitReady(
    'prosody',
    child,
    () => answersStreamHeader(port, domain),
    output,
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
