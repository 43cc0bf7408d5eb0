import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { build } from 'esbuild';

import { WfeError, type ErrorInfo } from '../errors.js';
import type { JobInfo, JobLog, LogLevel, Tasklet } from './types.js';

export interface WorkerRun {
  tasklet: Tasklet;
  params: Record<string, unknown>;
  job: JobInfo;
  log: JobLog;
  signal: AbortSignal;
}

export interface WorkerOutcome {
  params: Record<string, unknown>;
  returned: unknown;
  stopped: boolean;
}

type WorkerReply =
  | { type: 'log'; level: LogLevel; message: string; data?: unknown }
  | ({ type: 'done' } & WorkerOutcome)
  | { type: 'failed'; error: ErrorInfo };

/**
 * Threads for CPU-heavy tasklets. A worker runs one tasklet at a time;
 * cancelling a run terminates its thread, which is the only way to stop
 * code that never yields.
 */
export class WorkerPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #queue: Array<() => void> = [];
  #busy = 0;
  #script: string | null = null;
  readonly #cacheDir: string;

  constructor(options: { size?: number; cacheDir?: string } = {}) {
    this.#size = options.size ?? Math.max(1, availableParallelism() - 1);
    this.#cacheDir =
      options.cacheDir ?? join(tmpdir(), `wfe-worker-${process.pid}`);
  }

  async run(request: WorkerRun): Promise<WorkerOutcome> {
    if (request.signal.aborted) throw abortError(request);
    await this.#slot();

    const worker = this.#idle.pop() ?? new Worker(await this.#workerScript());
    try {
      const outcome = await this.#exchange(worker, request);
      this.#idle.push(worker);
      return outcome;
    } catch (err) {
      void worker.terminate();
      throw err;
    } finally {
      this.#busy--;
      this.#queue.shift()?.();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#idle.splice(0).map((w) => w.terminate()));
  }

  #slot(): Promise<void> {
    if (this.#busy < this.#size) {
      this.#busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.#queue.push(() => {
        this.#busy++;
        resolve();
      }),
    );
  }

  #exchange(worker: Worker, request: WorkerRun): Promise<WorkerOutcome> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        request.signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'log') {
          request.log[reply.level](reply.message, reply.data);
          return;
        }
        cleanup();
        if (reply.type === 'done') resolve(reply);
        else reject(WfeError.fromInfo(reply.error));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new WfeError('TASKLET_FAILED', err.message, { cause: err }));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new WfeError('WORKER_EXITED', `worker thread exited (${code})`));
      };
      const onAbort = () => {
        cleanup();
        reject(abortError(request));
      };

      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      request.signal.addEventListener('abort', onAbort, { once: true });

      worker.postMessage({
        compiledFile: request.tasklet.compiledFile,
        tasklet: { name: request.tasklet.name, file: request.tasklet.file },
        params: request.params,
        job: request.job,
      });
    });
  }

  // Compiled builds ship worker-main.js; from sources, esbuild makes it.
  async #workerScript(): Promise<string> {
    if (this.#script) return this.#script;

    const here = fileURLToPath(new URL('.', import.meta.url));
    const built = join(here, 'worker-main.js');
    if (existsSync(built)) return (this.#script = built);

    await mkdir(this.#cacheDir, { recursive: true });
    const out = join(this.#cacheDir, 'worker-main.mjs');
    await build({
      entryPoints: [join(here, 'worker-main.ts')],
      outfile: out,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      bundle: true,
      logLevel: 'silent',
    });
    return (this.#script = out);
  }
}

function abortError(request: WorkerRun): WfeError {
  const reason: unknown = request.signal.reason;
  if (reason instanceof WfeError) return reason;
  return new WfeError('CANCELLED', `tasklet ${request.tasklet.name} stopped`);
}
