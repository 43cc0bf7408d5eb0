import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createLogger, type Logger } from '../log.js';

/** Where a command writes and what it reads from its surroundings. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Ends `wfe start` when aborted. Without it, `start` waits for SIGINT or
   * SIGTERM; tests pass one to stop it in-process.
   */
  stopSignal?: AbortSignal;
}

export function processIo(): CliIo {
  // A reader that goes away (`wfe jobs | head`) is not an error of ours;
  // the output it no longer wants is dropped.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

interface PackageInfo {
  root: string;
  version: string;
}

let packageInfo: PackageInfo | undefined;

/**
 * The folder holding wfe's package.json. Found by walking up from this
 * file, which lives at different depths in the sources and in `dist/`.
 */
export function findPackage(): PackageInfo {
  if (packageInfo) return packageInfo;

  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (json.name === 'wfe') {
        packageInfo = { root: dir, version: json.version ?? '0.0.0' };
        return packageInfo;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the wfe package.json');
    dir = parent;
  }
}

/** `--data`, else WFE_DATA_DIR, else `.wfe` in the working directory. */
export function resolveDataDir(io: CliIo, flag: string | undefined): string {
  return resolve(io.cwd, flag ?? io.env.WFE_DATA_DIR ?? '.wfe');
}

/**
 * `--tasklets` (repeatable), else WFE_TASKLETS split on `:`, else the
 * examples shipped with the package.
 */
export function resolveTaskletRoots(
  io: CliIo,
  flags: string[] | undefined,
): string[] {
  return resolveRoots(io, flags, 'WFE_TASKLETS', 'tasklets');
}

/** Workflow folders: as for tasklets, with WFE_WORKFLOWS. */
export function resolveWorkflowRoots(
  io: CliIo,
  flags: string[] | undefined,
): string[] {
  return resolveRoots(io, flags, 'WFE_WORKFLOWS', 'workflows');
}

/** The flags, else the ':'-separated env, else the bundled examples. */
function resolveRoots(
  io: CliIo,
  flags: string[] | undefined,
  envName: string,
  example: string,
): string[] {
  const fromEnv = (io.env[envName] ?? '')
    .split(delimiter)
    .filter((root) => root.length > 0);
  const roots =
    flags && flags.length > 0
      ? flags
      : fromEnv.length > 0
        ? fromEnv
        : [join(findPackage().root, 'examples', example)];
  return roots.map((root) => resolve(io.cwd, root));
}

/** Logs go to stderr so that stdout carries only results. */
export function cliLogger(io: CliIo, defaultLevel: string): Logger {
  return createLogger({
    level: io.env.WFE_LOG_LEVEL ?? defaultLevel,
    destination: { write: (line: string) => io.stderr(line) },
  });
}

/** One `wfe` sub-command. `run` returns the process exit code. */
export interface Command {
  name: string;
  /** One line for `wfe --help`. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
