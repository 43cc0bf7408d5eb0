import { join } from 'node:path';

import { busAgents } from '../agent/agents-access.js';
import type { Inspect } from '../inspection.js';
import type { Bus, BusSubscription } from '../bus/types.js';
import type { Clock } from '../clock.js';
import { isFinished, type JobRecord, type Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import { WfeError } from '../errors.js';
import type { IdGenerator } from '../ids.js';
import { JobRunner, type JobEvents, type LiveJob } from '../jobs/runner.js';
import {
  validateSubmission,
  type ValidSubmission,
} from '../jobs/submission.js';
import type { Logger } from '../log.js';
import { startLoopMonitor, type LoopMonitor } from '../loop-monitor.js';
import { BlockWatch } from '../tasklets/block-watch.js';
import { actionsAccess, drpAccess } from '../tasklets/capabilities.js';
import { taskletChain } from '../tasklets/chain.js';
import type { Capabilities } from '../tasklets/context.js';
import {
  createTaskletRegistry,
  type TaskletRegistry,
} from '../tasklets/registry.js';
import type { ActionOptions, Tasklet } from '../tasklets/types.js';
import { WorkerPool } from '../tasklets/worker-pool.js';
import { waitResult } from './job-result.js';
import { ownerCancelSubject } from './liveness.js';
import { waitElsewhere } from './wait-elsewhere.js';
import { WorkflowHost } from '../workflows/host.js';
import { loadWorkflows, type WorkflowRegistry } from '../workflows/registry.js';

export interface WorkerRoleOptions {
  owner: string;
  bus: Bus;
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  dataDir: string;
  taskletRoots: string[];
  /** Folders of workflow definitions. */
  workflowRoots?: string[];
  watch: boolean;
  blockThresholdMs: number;
  workerThreads?: number;
  events?: JobEvents;
  /** Reports the inspection events of job and workflow actors. */
  inspect?: Inspect;
}

/**
 * The part of the engine that runs jobs: it resolves actions to tasklet
 * chains, records each job, and runs it in this process.
 */
export class WorkerRole {
  readonly registry: TaskletRegistry;
  readonly runner: JobRunner;
  readonly workflows: WorkflowHost;
  readonly #options: WorkerRoleOptions;
  readonly #blockWatch: BlockWatch;
  readonly #workers: WorkerPool;
  readonly #monitor: LoopMonitor;
  readonly #cancels: BusSubscription;

  static async start(options: WorkerRoleOptions): Promise<WorkerRole> {
    const registry = await createTaskletRegistry({
      roots: options.taskletRoots,
      logger: options.logger,
      watch: options.watch,
      cacheDir: join(options.dataDir, 'cache', 'tasklets'),
    });
    const workflows = await loadWorkflows(
      options.workflowRoots ?? [],
      options.logger,
    );
    return new WorkerRole(options, registry, workflows);
  }

  private constructor(
    options: WorkerRoleOptions,
    registry: TaskletRegistry,
    workflows: WorkflowRegistry,
  ) {
    this.#options = options;
    this.registry = registry;
    this.runner = new JobRunner({
      store: options.store,
      writer: options.writer,
      clock: options.clock,
      ids: options.ids,
      logger: options.logger,
      owner: options.owner,
      events: options.events,
      inspect: options.inspect,
    });
    this.workflows = new WorkflowHost({
      owner: options.owner,
      registry: workflows,
      runner: this.runner,
      store: options.store,
      writer: options.writer,
      clock: options.clock,
      bus: options.bus,
      logger: options.logger,
      inspect: options.inspect,
      startChild: (submission, parentId) =>
        this.#startJob(submission, parentId),
    });
    this.#blockWatch = new BlockWatch(options.blockThresholdMs, options.logger);
    this.#workers = new WorkerPool({
      size: options.workerThreads,
      cacheDir: join(options.dataDir, 'cache', 'workers'),
    });
    this.#monitor = startLoopMonitor({
      thresholdMs: this.#blockWatch.thresholdMs,
      onBlock: (ms) => this.#blockWatch.loopBlocked(ms),
    });

    // Another process asking to cancel one of the jobs running here.
    this.#cancels = options.bus.serve(
      ownerCancelSubject(options.owner),
      (message) => {
        const { id, reason } = (message ?? {}) as {
          id?: unknown;
          reason?: unknown;
        };
        const why = typeof reason === 'string' ? reason : undefined;
        if (this.workflows.cancel(String(id), why)) return;
        return this.runner.cancel(String(id), why);
      },
    );
  }

  /**
   * Records a top-level job and starts it; resolves once it is durable.
   * A known idempotency key gives back the job it first created.
   */
  async submit(input: unknown): Promise<JobRecord> {
    const submission = validateSubmission(input);
    const key = submission.idempotencyKey;
    if (key !== null) {
      const existing = await this.#options.store.getJobByKey(key);
      if (existing) return sameSubmission(existing, submission);
    }

    try {
      return await this.#startJob(submission, null);
    } catch (err) {
      if (!(err instanceof WfeError) || err.code !== 'DUPLICATE') throw err;
      const { jobId } = err.details as { jobId: string };
      const existing = await this.#options.store.getJob(jobId);
      if (!existing) throw err;
      return sameSubmission(existing, submission);
    }
  }

  /**
   * Resolves with the job's final record. A job running in another
   * process is followed through its events on the bus.
   */
  async wait(id: string): Promise<JobRecord> {
    if (this.runner.isLive(id)) return this.runner.wait(id);
    return waitElsewhere(this.#options.bus, this.#options.store, id);
  }

  /** Cancels a job and its subtree, in whichever process runs it. */
  async cancel(id: string, reason?: string): Promise<void> {
    if (this.workflows.cancel(id, reason)) return;
    if (this.runner.isLive(id)) return this.runner.cancel(id, reason);

    const job = await this.#options.store.getJob(id);
    if (!job) throw new WfeError('NOT_FOUND', `no job ${id}`);
    if (isFinished(job.status) || job.owner === null) {
      throw new WfeError(
        'JOB_FINISHED',
        `job ${id} is ${job.status}; only running jobs can be cancelled`,
      );
    }
    await this.#options.bus.request(ownerCancelSubject(job.owner), {
      id,
      reason,
    });
  }

  /**
   * Lets running jobs finish for up to `graceMs`, then cancels what is
   * left and waits for it to end.
   */
  async drain(graceMs: number): Promise<void> {
    const { runner } = this;
    const settled = Promise.all(runner.liveIds().map((id) => runner.wait(id)));
    const timer = setTimeout(() => {
      for (const id of runner.liveIds()) {
        void runner.cancel(id, 'the engine stopped').catch(() => {});
      }
    }, graceMs);
    await settled.catch(() => {});
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.#cancels.unsubscribe();
    this.workflows.close();
    this.#monitor.stop();
    await Promise.allSettled([this.registry.close(), this.#workers.close()]);
  }

  #startJob(
    submission: ValidSubmission,
    parentId: string | null,
  ): Promise<JobRecord> {
    const workflow = this.workflows.forAction(submission.action);
    if (workflow) {
      return this.runner.start(submission, parentId, (job) =>
        this.workflows.work(workflow, job),
      );
    }

    const action = this.registry.resolve(submission.action);
    return this.runner.start(submission, parentId, (job) =>
      taskletChain({
        role: action.role,
        tasklets: [...action.tasklets],
        job,
        blockWatch: this.#blockWatch,
        workers: this.#workers,
        capabilities: (tasklet) =>
          this.#capabilities(action.role, tasklet, job),
      }),
    );
  }

  #capabilities(role: string, tasklet: Tasklet, job: LiveJob): Capabilities {
    const { runner } = this;
    if (role === 'actor') {
      return {
        agents: busAgents({
          bus: this.#options.bus,
          runner,
          job,
          taskletFile: tasklet.file,
          logger: this.#options.logger,
        }),
      };
    }

    const { store, writer, ids, clock } = this.#options;
    return {
      drp: drpAccess(store, writer, ids, clock),
      actions: actionsAccess(
        (action: string, childOptions: ActionOptions = {}) =>
          this.#startJob(
            validateSubmission({ action, ...childOptions }),
            job.record.id,
          ),
        (id) => waitResult(runner, id),
      ),
    };
  }
}

/**
 * One key names one submission. Reusing it for another action is a
 * mistake in the caller, which silently returning the first job would
 * hide.
 */
function sameSubmission(
  existing: JobRecord,
  submission: ValidSubmission,
): JobRecord {
  if (existing.action !== submission.action) {
    throw new WfeError(
      'IDEMPOTENCY_CONFLICT',
      `idempotency key ${JSON.stringify(submission.idempotencyKey)} ` +
        `already names job ${existing.id} of ${existing.action}, ` +
        `not ${submission.action}`,
      { details: { jobId: existing.id, action: existing.action } },
    );
  }
  return existing;
}
