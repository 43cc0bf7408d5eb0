import type { AnyActor } from 'xstate';

import type { JobWork } from '../../actors/job.js';
import {
  CANCEL_EVENT,
  type StepRequest,
} from '../../machines/workflow-services.js';
import { busAgents } from '../agent/agents-access.js';
import type { Bus, BusSubscription } from '../bus/types.js';
import type { Clock } from '../clock.js';
import { isFinished, type JobRecord, type Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import { toErrorInfo, WfeError } from '../errors.js';
import type { JobRunner, LiveJob } from '../jobs/runner.js';
import {
  validateSubmission,
  type ValidSubmission,
} from '../jobs/submission.js';
import type { Inspect } from '../inspection.js';
import type { Logger } from '../log.js';
import { waitResult } from '../roles/job-result.js';
import { JOBS_REAPED, ownerEventSubject } from '../roles/liveness.js';
import type { WorkflowEntry, WorkflowRegistry } from './registry.js';
import { resumeInstances } from './resume.js';
import { InstanceSnapshots, statePaths } from './snapshots.js';
import { workflowWork } from './work.js';

export interface WorkflowHostOptions {
  /** This engine process, as recorded on the jobs it runs. */
  owner: string;
  registry: WorkflowRegistry;
  runner: JobRunner;
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  bus: Bus;
  logger: Logger;
  inspect?: Inspect;
  /** Starts a child job of the worker, as a tasklet's ctx.actions does. */
  startChild(submission: ValidSubmission, parentId: string): Promise<JobRecord>;
}

interface EventRequest {
  id?: unknown;
  type?: unknown;
  payload?: unknown;
}

/**
 * Runs the workflow instances of a worker: builds the work of a job
 * whose action a workflow implements, runs its steps as child jobs, and
 * delivers events from outside to the instances running here.
 */
export class WorkflowHost {
  readonly #options: WorkflowHostOptions;
  readonly #snapshots: InstanceSnapshots;
  readonly #running = new Map<string, AnyActor>();
  readonly #events: BusSubscription;
  readonly #reaped: BusSubscription;
  #resuming: Promise<number> | null = null;
  #resumeAgain = false;

  constructor(options: WorkflowHostOptions) {
    this.#options = options;
    this.#snapshots = new InstanceSnapshots(
      options.writer,
      options.clock,
      options.logger,
    );
    // Events for instances of this process, sent from another.
    this.#events = options.bus.serve(
      ownerEventSubject(options.owner),
      (message) => {
        const { id, type, payload } = (message ?? {}) as EventRequest;
        return this.sendEvent(String(id), String(type), payload);
      },
    );
    // A runner died: its instances may be ours to resume now.
    this.#reaped = options.bus.subscribe(JOBS_REAPED, () => {
      this.resumeInterrupted().catch((err: unknown) => {
        options.logger.warn(
          { err: toErrorInfo(err) },
          'could not resume the workflows of a dead engine',
        );
      });
    });
  }

  /** Instances running in this process. */
  get running(): number {
    return this.#running.size;
  }

  /** The first `limit` instances running here, with their states. */
  live(limit: number): Array<{ id: string; states: string[] }> {
    const views: Array<{ id: string; states: string[] }> = [];
    for (const [id, actor] of this.#running) {
      if (views.length === limit) break;
      const { value } = actor.getSnapshot() as { value: unknown };
      views.push({ id, states: statePaths(value) });
    }
    return views;
  }

  close(): void {
    this.#events.unsubscribe();
    this.#reaped.unsubscribe();
  }

  actions(): string[] {
    return this.#options.registry.actions();
  }

  forAction(action: string): WorkflowEntry | undefined {
    return this.#options.registry.forAction(action);
  }

  work(entry: WorkflowEntry, job: LiveJob, snapshot?: unknown): JobWork {
    const id = job.record.id;
    return workflowWork({
      definition: entry.definition,
      file: entry.file,
      owner: this.#options.owner,
      snapshot,
      job,
      cancelled: (reason) => this.#options.runner.cancel(id, reason),
      clock: this.#options.clock,
      inspect: this.#options.inspect,
      snapshots: this.#snapshots,
      runStep: (request, signal) => this.#runStep(entry, job, request, signal),
      onActor: (actor) => {
        if (actor) this.#running.set(id, actor);
        else {
          this.#running.delete(id);
          void this.#snapshots.forget(id);
        }
      },
    });
  }

  /**
   * Resumes the instances whose engine is gone: each instance whose job
   * was marked interrupted goes on from its last snapshot, on the
   * definition it started with. Resolves with how many were resumed.
   */
  resumeInterrupted(): Promise<number> {
    // One pass at a time; a signal during a pass asks for another.
    if (this.#resuming) {
      this.#resumeAgain = true;
      return this.#resuming;
    }
    this.#resuming = this.#resumePass().finally(() => {
      this.#resuming = null;
      if (this.#resumeAgain) {
        this.#resumeAgain = false;
        void this.resumeInterrupted().catch(() => {});
      }
    });
    return this.#resuming;
  }

  #resumePass(): Promise<number> {
    return resumeInstances({
      store: this.#options.store,
      writer: this.#options.writer,
      clock: this.#options.clock,
      logger: this.#options.logger,
      owner: this.#options.owner,
      resume: async (instance, job, lastSeq) => {
        const entry = { definition: instance.definition, file: instance.file };
        this.#snapshots.adopt(job.id, instance.version, instance.history ?? []);
        await this.#options.runner.resume(job, lastSeq, (live) =>
          this.work(entry, live, JSON.parse(instance.snapshot)),
        );
      },
    });
  }

  /**
   * Cancels an instance running here: it stops its step, runs its
   * compensation, then its job ends cancelled. False when the instance
   * does not run here.
   */
  cancel(id: string, reason = 'cancelled on request'): boolean {
    const actor = this.#running.get(id);
    if (!actor) return false;
    actor.send({ type: CANCEL_EVENT, payload: { reason } } as never);
    return true;
  }

  /**
   * Sends a named event to a running instance. An unknown job, a job
   * that is no workflow, or one that has ended is a clear error.
   */
  async sendEvent(id: string, type: string, payload?: unknown): Promise<void> {
    if (typeof type !== 'string' || !/^[A-Za-z][\w.-]*$/.test(type)) {
      throw new WfeError(
        'BAD_EVENT',
        `an event name is letters, digits, _, . and -, got ${String(type)}`,
      );
    }
    const actor = this.#running.get(id);
    if (actor) {
      actor.send({ type, payload: payload ?? null } as never);
      return;
    }

    const job = await this.#options.store.getJob(id);
    if (!job) {
      throw new WfeError('NOT_FOUND', `no workflow instance ${id}`);
    }
    if (!this.forAction(job.action)) {
      throw new WfeError(
        'NOT_A_WORKFLOW',
        `job ${id} runs ${job.action}, which is not a workflow`,
      );
    }
    if (isFinished(job.status)) {
      throw new WfeError(
        'WORKFLOW_ENDED',
        `workflow instance ${id} has ended (${job.status}); it takes no ` +
          'more events',
      );
    }
    if (job.owner !== null && job.owner !== this.#options.owner) {
      await this.#options.bus.request(ownerEventSubject(job.owner), {
        id,
        type,
        payload,
      });
      return;
    }
    throw new WfeError(
      'NOT_FOUND',
      `workflow instance ${id} is not running in this engine`,
    );
  }

  /**
   * A step is a child job whose idempotency key names the instance, the
   * state and the attempt: one that exists already is waited for, not
   * started again.
   */
  async #runStep(
    entry: WorkflowEntry,
    job: LiveJob,
    request: StepRequest,
    signal: AbortSignal,
  ): Promise<unknown> {
    const { runner, store } = this.#options;
    if (request.kind === 'rscript') {
      return this.#runScript(entry, job, request);
    }

    const action =
      request.kind === 'action' ? request.name : this.#childAction(request);
    const existing = await store.getJobByKey(request.key);
    const child =
      existing ??
      (await this.#options.startChild(
        validateSubmission({
          action,
          params: request.params,
          target: request.target ?? undefined,
          maxDurationMs: request.timeoutMs ?? undefined,
          idempotencyKey: request.key,
        }),
        job.record.id,
      ));

    const cancel = () => void runner.cancel(child.id).catch(() => {});
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await waitResult(runner, child.id);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  /** A child workflow runs as the action it implements. */
  #childAction(request: StepRequest): string {
    const child = this.#options.registry.byName(request.name);
    if (!child) {
      throw new WfeError(
        'WORKFLOW_NOT_FOUND',
        `step ${request.state}: no workflow ${request.name} implementing ` +
          'an action is loaded',
      );
    }
    return child.definition.implements!;
  }

  async #runScript(
    entry: WorkflowEntry,
    job: LiveJob,
    request: StepRequest,
  ): Promise<unknown> {
    // A step resumed after a crash finds the script it started then.
    const existing = await this.#options.store.getJobByKey(request.key);
    if (existing) return waitResult(this.#options.runner, existing.id);

    const agents = busAgents({
      bus: this.#options.bus,
      runner: this.#options.runner,
      job,
      taskletFile: entry.file,
      logger: this.#options.logger,
      idempotencyKey: request.key,
    });
    // The script sees the step's input as its params, and its `args`.
    const params =
      request.args === undefined
        ? request.params
        : { ...request.params, args: request.args };
    return agents.run(request.agent!, request.name, {
      params,
      timeoutMs: request.timeoutMs ?? undefined,
    });
  }
}
