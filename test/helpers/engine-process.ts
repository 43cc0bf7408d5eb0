import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Test } from 'tap';

import { READY_LINE } from '../../runtime/cli/start.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const launcher = join(root, 'bin', 'wfe.js');

export interface EngineProcess {
  child: ChildProcess;
  /** What the process wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to clean up. */
  kill(): Promise<void>;
}

/** `wfe start ARGS` as a real process; resolves once it is ready. */
export async function startEngineProcess(
  t: Test,
  args: string[],
  env: Record<string, string> = {},
): Promise<EngineProcess> {
  const child = spawn(process.execPath, [launcher, 'start', ...args], {
    env: { ...process.env, WFE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => resolve(code)),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  });

  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes(READY_LINE)) resolve();
    });
    void exited.then((code) =>
      reject(
        new Error(
          `wfe start ${args.join(' ')} exited with ${code} before ready:\n` +
            stderr,
        ),
      ),
    );
  });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
