import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { WfeError } from '../errors.js';
import { CappedOutput } from './output-buffer.js';
import {
  INLINE_FILE_NAMES,
  INTERPRETERS,
  planRun,
  type RunPlan,
  type ScriptOutcome,
  type ScriptRequest,
} from './script-plan.js';

export type {
  ScriptLanguage,
  ScriptOutcome,
  ScriptRequest,
} from './script-plan.js';

/**
 * Runs one rscript as a child process: parameters in, exit code, captured
 * output and an optional JSON result out. Used by the local agent and by
 * the remote agent program.
 */

// Environments have size limits; larger params go by file and stdin only.
const INLINE_PARAMS_LIMIT = 64 * 1024;
const RESULT_LIMIT_BYTES = 16 * 1024 * 1024;
// A background process started by the script may hold its output pipes
// open long after the script exits; we stop waiting for them after this.
const PIPE_DRAIN_MS = 1000;
const TAIL_CHARS = 2000;

interface RunFiles {
  script: string;
  params: string;
  result: string;
}

type ProcessReport = Omit<ScriptOutcome, 'result' | 'resultError'>;

export async function runScript(
  request: ScriptRequest,
): Promise<ScriptOutcome> {
  const plan = await planRun(request);

  const workDir = await mkdtemp(join(tmpdir(), 'wfe-rscript-'));
  try {
    const files = await prepareFiles(workDir, plan);
    const report = await superviseProcess(plan, files, request);
    const finishedAlone = !report.timedOut && !report.cancelled;
    const { result, resultError } = finishedAlone
      ? await readResult(files.result)
      : { result: null, resultError: null };
    return { ...report, result, resultError };
  } finally {
    // Failing to clean up must not hide the outcome or the real error.
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The error a caller should throw for an outcome, or null when it
 * succeeded. A failed exit is not an error with `allowFailure`.
 */
export function outcomeError(
  outcome: ScriptOutcome,
  options: { allowFailure?: boolean; name?: string } = {},
): WfeError | null {
  const label =
    options.name === undefined ? 'script' : `script ${options.name}`;
  const details = {
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: outcome.durationMs,
    stdoutTail: outcome.stdout.slice(-TAIL_CHARS),
    stderrTail: outcome.stderr.slice(-TAIL_CHARS),
  };

  if (outcome.timedOut) {
    const message = `${label} timed out after ${outcome.durationMs} ms`;
    return new WfeError('SCRIPT_TIMEOUT', message, {
      retryable: true,
      details,
    });
  }

  if (outcome.cancelled) {
    return new WfeError('SCRIPT_CANCELLED', `${label} was cancelled`, {
      details,
    });
  }

  const failed = outcome.exitCode !== 0 || outcome.signal !== null;
  if (failed && !options.allowFailure) {
    const how =
      outcome.signal === null
        ? `exited with code ${outcome.exitCode}`
        : `was killed by ${outcome.signal}`;
    return new WfeError('SCRIPT_FAILED', `${label} ${how}`, { details });
  }

  if (outcome.resultError !== null) {
    const message = `${label} wrote an unusable result: ${outcome.resultError}`;
    return new WfeError('SCRIPT_BAD_RESULT', message, {
      details: { ...details, resultError: outcome.resultError },
    });
  }

  return null;
}

async function prepareFiles(workDir: string, plan: RunPlan): Promise<RunFiles> {
  const files: RunFiles = {
    script: plan.file ?? join(workDir, INLINE_FILE_NAMES[plan.language]),
    params: join(workDir, 'params.json'),
    result: join(workDir, 'result.json'),
  };

  await writeFile(files.params, plan.paramsJson);
  if (plan.source !== undefined) await writeFile(files.script, plan.source);
  return files;
}

function scriptEnvironment(
  plan: RunPlan,
  files: RunFiles,
  extra: Record<string, string> | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extra,
    WFE_PARAMS_FILE: files.params,
    WFE_RESULT_FILE: files.result,
  };

  // Never leave a stale WFE_PARAMS from our own environment in place.
  delete env.WFE_PARAMS;
  if (Buffer.byteLength(plan.paramsJson) < INLINE_PARAMS_LIMIT) {
    env.WFE_PARAMS = plan.paramsJson;
  }
  return env;
}

/**
 * Spawns the script in its own process group and watches it until its
 * output is closed. Timeout and cancellation signal the whole group, so
 * that processes the script started die with it.
 *
 * A script that exits normally leaves its background processes alone
 * (they may be daemons it was meant to start); we only stop waiting for
 * their hold on our pipes after PIPE_DRAIN_MS.
 */
function superviseProcess(
  plan: RunPlan,
  files: RunFiles,
  request: ScriptRequest,
): Promise<ProcessReport> {
  const { signal: abortSignal, onOutput } = request;
  const stdout = new CappedOutput('stdout', plan.maxOutputBytes);
  const stderr = new CappedOutput('stderr', plan.maxOutputBytes);
  const started = performance.now();

  const report = (
    exitCode: number | null,
    signal: string | null,
    stop: 'timeout' | 'cancel' | null,
  ): ProcessReport => ({
    exitCode,
    signal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    durationMs: Math.round(performance.now() - started),
    timedOut: stop === 'timeout',
    cancelled: stop === 'cancel',
    truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
  });

  if (abortSignal?.aborted)
    return Promise.resolve(report(null, null, 'cancel'));

  return new Promise((resolvePromise, rejectPromise) => {
    let child: ChildProcess;
    try {
      child = spawn(INTERPRETERS[plan.language], [files.script], {
        cwd: request.cwd,
        env: scriptEnvironment(plan, files, request.env),
        detached: true,
        stdio: 'pipe',
      });
    } catch (err) {
      rejectPromise(spawnError(plan, request, err));
      return;
    }

    let stop: 'timeout' | 'cancel' | null = null;
    let exit: { code: number | null; signal: string | null } | null = null;
    let spawnFailure: unknown;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const deliver = (stream: 'stdout' | 'stderr', text: string): void => {
      if (text === '' || onOutput === undefined) return;
      try {
        onOutput(stream, text);
      } catch {
        // A failing listener must not take the run down with it; the
        // output is still captured in the outcome.
      }
    };

    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the whole group is already gone.
      }
    };

    const stopScript = (reason: 'timeout' | 'cancel'): void => {
      if (stop !== null || exit !== null || settled) return;
      stop = reason;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), plan.killGraceMs);
    };

    const onAbort = (): void => stopScript('cancel');
    const timeoutTimer = setTimeout(
      () => stopScript('timeout'),
      plan.timeoutMs,
    );
    abortSignal?.addEventListener('abort', onAbort, { once: true });

    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      abortSignal?.removeEventListener('abort', onAbort);

      if (child.pid === undefined) {
        clearTimeout(killTimer);
        rejectPromise(spawnError(plan, request, spawnFailure));
        return;
      }

      // The SIGKILL stays armed while anything of the group is left.
      if (killTimer !== undefined && !groupExists(child.pid)) {
        clearTimeout(killTimer);
      }
      deliver('stdout', stdout.finish());
      deliver('stderr', stderr.finish());
      resolvePromise(report(exit?.code ?? null, exit?.signal ?? null, stop));
    };

    child.on('error', (err) => {
      spawnFailure = err;
      if (child.pid === undefined) settle();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, PIPE_DRAIN_MS);
    });
    child.on('close', settle);

    child.stdout!.on('data', (chunk: Buffer) => {
      deliver('stdout', stdout.push(chunk));
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      deliver('stderr', stderr.push(chunk));
    });
    // Read errors only cut the capture short; 'close' still follows.
    child.stdout!.on('error', () => {});
    child.stderr!.on('error', () => {});

    // Scripts that never read stdin make this write fail with EPIPE; the
    // params are in a file as well, so that is fine.
    child.stdin!.on('error', () => {});
    child.stdin!.end(plan.paramsJson);
  });
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function spawnError(
  plan: RunPlan,
  request: ScriptRequest,
  cause: unknown,
): WfeError {
  const interpreter = INTERPRETERS[plan.language];
  return new WfeError(
    'SCRIPT_SPAWN_FAILED',
    `cannot start ${interpreter} for a ${plan.language} script`,
    { details: { interpreter, cwd: request.cwd }, cause },
  );
}

async function readResult(
  file: string,
): Promise<{ result: unknown; resultError: string | null }> {
  const none = { result: null, resultError: null };
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > RESULT_LIMIT_BYTES) {
      const resultError = `result file has ${size} bytes, over the limit of ${RESULT_LIMIT_BYTES}`;
      return { result: null, resultError };
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return none;
    const resultError = `cannot read result file: ${(err as Error).message}`;
    return { result: null, resultError };
  }

  // A script may create the file and then have nothing to say.
  if (text.trim() === '') return none;
  try {
    return { result: JSON.parse(text), resultError: null };
  } catch (err) {
    const resultError = `result is not valid JSON: ${(err as Error).message}`;
    return { result: null, resultError };
  }
}
