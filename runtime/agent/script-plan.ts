import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';

import { WfeError } from '../errors.js';

/**
 * What an rscript run is asked for, checked and settled before anything
 * is spawned: the language, the interpreter, the limits. A bad request
 * fails here with SCRIPT_BAD_REQUEST, SCRIPT_BAD_LANGUAGE or
 * SCRIPT_NOT_FOUND, and no process starts.
 */

export type ScriptLanguage = 'sh' | 'bash' | 'python' | 'node';

export interface ScriptRequest {
  /**
   * Path of the script file, relative to this process's working directory;
   * the language comes from its extension (.sh .bash .py .js .mjs .cjs)
   * unless `language` is given.
   */
  file?: string;
  /** Inline source instead of a file; `language` is then required. */
  source?: string;
  /** One of the ScriptLanguage names; anything else is SCRIPT_BAD_LANGUAGE. */
  language?: string;
  /** Sent as JSON: in a file, in env WFE_PARAMS when small, and on stdin. */
  params?: Record<string, unknown>;
  /** @default 60_000 */
  timeoutMs?: number;
  /** Kept per stream; the rest is counted and dropped. @default 1 MiB */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL. @default 2000 */
  killGraceMs?: number;
  signal?: AbortSignal;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Receives the kept output, in order, as it arrives. */
  onOutput?(stream: 'stdout' | 'stderr', chunk: string): void;
}

export interface ScriptOutcome {
  /** null when killed by a signal, or when never started. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The parsed JSON result, or null when there is none. */
  result: unknown;
  /** Why the result file could not be used, or null. */
  resultError: string | null;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  truncated: { stdout: boolean; stderr: boolean };
}

export const INTERPRETERS: Record<ScriptLanguage, string> = {
  sh: '/bin/sh',
  bash: 'bash',
  python: 'python3',
  node: process.execPath,
};

const LANGUAGE_OF_EXTENSION: Record<string, ScriptLanguage> = {
  '.sh': 'sh',
  '.bash': 'bash',
  '.py': 'python',
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
};

// Plain `.js` lets Node detect either module syntax in inline sources.
export const INLINE_FILE_NAMES: Record<ScriptLanguage, string> = {
  sh: 'script.sh',
  bash: 'script.bash',
  python: 'script.py',
  node: 'script.js',
};

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RunPlan {
  language: ScriptLanguage;
  file?: string;
  source?: string;
  paramsJson: string;
  timeoutMs: number;
  maxOutputBytes: number;
  killGraceMs: number;
}

export async function planRun(request: ScriptRequest): Promise<RunPlan> {
  const hasFile = request.file !== undefined;
  const hasSource = request.source !== undefined;
  if (hasFile === hasSource) {
    throw badRequest('give exactly one of file and source');
  }
  if (hasFile && (typeof request.file !== 'string' || request.file === '')) {
    throw badRequest('file must be a non-empty path');
  }
  if (hasSource && typeof request.source !== 'string') {
    throw badRequest('source must be a string');
  }

  const plan: RunPlan = {
    language: chooseLanguage(request),
    paramsJson: serialiseParams(request.params),
    timeoutMs: checkDelay(
      'timeoutMs',
      request.timeoutMs,
      DEFAULT_TIMEOUT_MS,
      1,
    ),
    maxOutputBytes: checkByteCount(request.maxOutputBytes),
    killGraceMs: checkDelay(
      'killGraceMs',
      request.killGraceMs,
      DEFAULT_KILL_GRACE_MS,
      0,
    ),
  };

  if (request.file === undefined) {
    plan.source = request.source;
  } else {
    plan.file = resolve(request.file);
    await checkScriptFile(plan.file);
  }
  return plan;
}

function chooseLanguage(request: ScriptRequest): ScriptLanguage {
  const { language, file } = request;
  if (language !== undefined) {
    if (isScriptLanguage(language)) return language;
    throw new WfeError(
      'SCRIPT_BAD_LANGUAGE',
      `unknown script language: ${String(language)}`,
      { details: { language } },
    );
  }

  if (file === undefined) throw badRequest('inline source needs a language');
  const extension = extname(file);
  const fromExtension = LANGUAGE_OF_EXTENSION[extension];
  if (fromExtension !== undefined) return fromExtension;
  throw new WfeError(
    'SCRIPT_BAD_LANGUAGE',
    `cannot tell the language of ${file} from its extension`,
    { details: { file, extension } },
  );
}

function isScriptLanguage(value: unknown): value is ScriptLanguage {
  return typeof value === 'string' && Object.hasOwn(INTERPRETERS, value);
}

function serialiseParams(params: ScriptRequest['params']): string {
  try {
    return JSON.stringify(params ?? {});
  } catch (err) {
    throw badRequest('params cannot be written as JSON', err);
  }
}

function checkDelay(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const valid =
    typeof value === 'number' && value >= min && value <= MAX_TIMER_MS;
  if (!valid) {
    throw badRequest(`${name} must be between ${min} and ${MAX_TIMER_MS}`);
  }
  return value;
}

function checkByteCount(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw badRequest('maxOutputBytes must be a non-negative integer');
  }
  return value;
}

async function checkScriptFile(file: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (err) {
    throw new WfeError('SCRIPT_NOT_FOUND', `script not found: ${file}`, {
      details: { file },
      cause: err,
    });
  }
  if (!isFile) {
    throw new WfeError('SCRIPT_NOT_FOUND', `script is not a file: ${file}`, {
      details: { file },
    });
  }
}

function badRequest(message: string, cause?: unknown): WfeError {
  return new WfeError('SCRIPT_BAD_REQUEST', message, { cause });
}
