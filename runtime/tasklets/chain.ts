import type { JobWork, StepOutcome } from '../../actors/job.js';
import { toWfeError, WfeError } from '../errors.js';
import type { LiveJob } from '../jobs/runner.js';
import type { BlockWatch, TaskletRun } from './block-watch.js';
import { createTaskletContext, type Capabilities } from './context.js';
import type { JobInfo, Role, Tasklet } from './types.js';
import type { WorkerPool } from './worker-pool.js';

export interface ChainOptions {
  role: Role;
  tasklets: Tasklet[];
  job: LiveJob;
  /** The capabilities of one tasklet of the chain. */
  capabilities(tasklet: Tasklet): Capabilities;
  blockWatch: BlockWatch;
  workers: WorkerPool;
}

/**
 * The work of an action: its tasklets in priority order, sharing one
 * `params` object. A tasklet whose `match` declines, or that realizes
 * what an earlier one already realized, is skipped.
 */
export function taskletChain(options: ChainOptions): JobWork {
  const { job, tasklets } = options;
  // A copy: the record keeps the params as submitted.
  const params = { ...job.record.params };
  const realized = new Set<string>();
  let stopped = false;

  const runStep = async (index: number): Promise<StepOutcome> => {
    const tasklet = tasklets[index]!;
    if (tasklet.realizes !== null && realized.has(tasklet.realizes)) {
      job.log.debug(`skipped ${tasklet.name}: ${tasklet.realizes} realized`);
      return 'continue';
    }

    const ctx = createTaskletContext({
      role: options.role,
      job: {
        id: job.record.id,
        parentId: job.record.parentId,
        action: job.record.action,
        target: job.record.target,
      },
      tasklet,
      params,
      log: job.log,
      signal: () => job.signal,
      stop: () => {
        stopped = true;
      },
      capabilities: options.capabilities(tasklet),
    });
    const run: TaskletRun = {
      jobId: job.record.id,
      tasklet: tasklet.name,
      log: job.log,
    };

    options.blockWatch.enter(run);
    try {
      if (tasklet.match) {
        const matched = await options.blockWatch.call(run, () =>
          tasklet.match!(ctx),
        );
        if (!matched) return 'continue';
      }

      const returned = tasklet.worker
        ? await runInWorker(options, tasklet, params, ctx.job, () => {
            stopped = true;
          })
        : await options.blockWatch.call(run, () => tasklet.main(ctx));
      if (returned !== undefined) params.result = returned;
    } catch (err) {
      throw failure(tasklet, err);
    } finally {
      options.blockWatch.leave(run);
    }

    if (tasklet.realizes !== null) realized.add(tasklet.realizes);
    return stopped ? 'stop' : 'continue';
  };

  return {
    steps: tasklets.length,
    runStep,
    result: () => params.result ?? null,
    abort: (reason) => job.abort(reason),
  };
}

async function runInWorker(
  options: ChainOptions,
  tasklet: Tasklet,
  params: Record<string, unknown>,
  jobInfo: JobInfo,
  stop: () => void,
): Promise<unknown> {
  const outcome = await options.workers.run({
    tasklet,
    params,
    job: jobInfo,
    log: options.job.log,
    signal: options.job.signal,
  });

  // The worker had a copy; bring its changes back into the shared params.
  for (const key of Object.keys(params)) {
    if (!(key in outcome.params)) delete params[key];
  }
  Object.assign(params, outcome.params);
  if (outcome.stopped) stop();
  return outcome.returned;
}

/**
 * Keeps the error's code, and adds which tasklet failed unless the error
 * carries details of its own.
 */
function failure(tasklet: Tasklet, err: unknown): WfeError {
  const error = toWfeError(err, 'TASKLET_FAILED');
  if (error.details !== undefined) return error;
  return new WfeError(error.code, error.message, {
    retryable: error.retryable,
    details: { tasklet: tasklet.name, file: tasklet.file },
    cause: error.cause,
  });
}
