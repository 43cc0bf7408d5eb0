import { createActor, type Actor } from 'xstate';

import type { JobOutput, JobWork } from '../../actors/job.js';
import { jobLogic } from '../../actors/job.js';
import type { Clock } from '../clock.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import {
  isFinished,
  type JobLogEntry,
  type JobRecord,
  type Store,
} from '../drp/types.js';
import { toErrorInfo, WfeError, type ErrorInfo } from '../errors.js';
import type { IdGenerator } from '../ids.js';
import type { Inspect } from '../inspection.js';
import type { Logger } from '../log.js';
import { JobLogWriter } from './job-log.js';
import type { ValidSubmission } from './submission.js';

// One shared reason: building an error per job showed up in profiles.
const JOB_ENDED = new WfeError('JOB_ENDED', 'the job has ended');

export interface StartOptions {
  /**
   * Error codes that mean the job ended but nobody knows how (its agent
   * went away and stayed away); the job is then recorded `lost`, not
   * `error`, which is what operators look for.
   */
  lostOn?: readonly string[];
}

/** Builds the work of a job once its record is durable. */
export type WorkFactory = (job: LiveJob) => JobWork;

export interface LiveJob {
  record: JobRecord;
  log: JobLogWriter;
  signal: AbortSignal;
  children: Set<string>;
  /** Aborts the job's signal, telling its work to stop. */
  abort(reason: Error): void;
}

interface Entry extends LiveJob {
  lostOn: readonly string[];
  waiters: Array<(record: JobRecord) => void>;
  cancelReason: string | null;
  actor: Actor<typeof jobLogic> | null;
}

/** Told of every change once it is durable, in the order of each job. */
export interface JobEvents {
  status(record: JobRecord): void;
  log(entry: JobLogEntry): void;
}

export interface JobRunnerDeps {
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** This engine process, recorded on each job it runs. */
  owner: string;
  events?: JobEvents;
  /** Reports the job actors' inspection events. */
  inspect?: Inspect;
}

/** A running job as the inspector lists it. */
export interface LiveJobView {
  id: string;
  parentId: string | null;
  action: string;
  /** `waiting`, `step N/M` while a step runs, or how the actor ended. */
  state: string;
}

/**
 * Owns the jobs that run in this process: writes each record at every
 * status change, runs and supervises the job actors, and keeps
 * the tree of running jobs so that cancelling one cancels its subtree.
 */
export class JobRunner {
  readonly #deps: JobRunnerDeps;
  readonly #live = new Map<string, Entry>();
  #started = 0;
  #finished = 0;

  constructor(deps: JobRunnerDeps) {
    this.#deps = deps;
  }

  get running(): number {
    return this.#live.size;
  }

  /** Jobs started and ended by this runner since it was made. */
  get counts(): { started: number; finished: number } {
    return { started: this.#started, finished: this.#finished };
  }

  /** The first `limit` running jobs, oldest first. */
  liveJobs(limit: number): LiveJobView[] {
    const views: LiveJobView[] = [];
    for (const entry of this.#live.values()) {
      if (views.length === limit) break;
      const { id, parentId, action } = entry.record;
      views.push({ id, parentId, action, state: stateOf(entry) });
    }
    return views;
  }

  /**
   * Creates a job, waits until its `waiting` record is durable, then
   * starts it. Resolves with the durable record.
   */
  async start(
    submission: ValidSubmission,
    parentId: string | null,
    makeWork: WorkFactory,
    options: StartOptions = {},
  ): Promise<JobRecord> {
    const parent = parentId === null ? null : this.#live.get(parentId);
    if (parentId !== null && !parent) {
      throw new WfeError('NOT_FOUND', `parent job ${parentId} is not running`);
    }

    const id = this.#deps.ids();
    const record: JobRecord = {
      id,
      parentId,
      rootId: parent ? parent.record.rootId : id,
      action: submission.action,
      target: submission.target,
      params: submission.params,
      status: 'waiting',
      result: null,
      error: null,
      maxDurationMs: submission.maxDurationMs,
      idempotencyKey: submission.idempotencyKey,
      owner: this.#deps.owner,
      createdAt: this.#deps.clock.now(),
      startedAt: null,
      endedAt: null,
    };

    await this.#persist(record, true);

    const entry = this.#track(record, parent ?? null, options.lostOn ?? []);
    this.#launch(entry, makeWork);
    return { ...record, status: 'waiting' };
  }

  /**
   * Runs again a job that a process which is gone left unfinished (it was
   * marked interrupted): records it running here, then starts its work,
   * whose log goes on after `lastSeq`.
   */
  async resume(
    stored: JobRecord,
    lastSeq: number,
    makeWork: WorkFactory,
  ): Promise<JobRecord> {
    const record: JobRecord = {
      ...stored,
      status: 'waiting',
      error: null,
      endedAt: null,
      owner: this.#deps.owner,
    };
    await this.#persist(record, true);

    const entry = this.#track(record, null, []);
    entry.log.continueAfter(lastSeq);
    this.#launch(entry, makeWork);
    return { ...record, status: 'waiting' };
  }

  /** Resolves with the job's final record. */
  async wait(id: string): Promise<JobRecord> {
    const entry = this.#live.get(id);
    if (entry) {
      return new Promise((resolve) => entry.waiters.push(resolve));
    }

    const stored = await this.#deps.store.getJob(id);
    if (!stored) throw new WfeError('NOT_FOUND', `no job ${id}`);
    if (!isFinished(stored.status)) {
      throw new WfeError(
        'JOB_NOT_RUNNING_HERE',
        `job ${id} is ${stored.status} but does not run in this engine`,
      );
    }
    return stored;
  }

  /** Cancels a running job and every job below it. */
  async cancel(id: string, reason = 'cancelled on request'): Promise<void> {
    const entry = this.#live.get(id);
    if (!entry) {
      const stored = await this.#deps.store.getJob(id);
      if (!stored) throw new WfeError('NOT_FOUND', `no job ${id}`);
      throw new WfeError(
        'JOB_FINISHED',
        `job ${id} is ${stored.status}; only running jobs can be cancelled`,
      );
    }

    for (const jobId of this.#subtree(id)) {
      const target = this.#live.get(jobId)!;
      target.cancelReason = target.cancelReason ?? reason;
      target.actor?.send({ type: 'job.cancel', reason });
    }
  }

  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /** Ids of the running jobs, oldest first. */
  liveIds(): string[] {
    return [...this.#live.keys()];
  }

  #track(
    record: JobRecord,
    parent: Entry | null,
    lostOn: readonly string[],
  ): Entry {
    // The abort controller is made on first use of the signal: most jobs
    // end without anyone listening, and one per job showed in profiles.
    let controller: AbortController | null = null;
    let abortedWith: { reason: Error } | null = null;
    const entry: Entry = {
      record,
      log: new JobLogWriter(
        record.id,
        this.#deps.writer,
        this.#deps.clock,
        this.#deps.logger,
        this.#deps.events?.log,
      ),
      get signal() {
        if (!controller) {
          controller = new AbortController();
          if (abortedWith) controller.abort(abortedWith.reason);
        }
        return controller.signal;
      },
      abort: (reason) => {
        if (abortedWith) return;
        abortedWith = { reason };
        controller?.abort(reason);
      },
      children: new Set(),
      waiters: [],
      cancelReason: parent?.cancelReason ?? null,
      actor: null,
      lostOn,
    };
    this.#live.set(record.id, entry);
    parent?.children.add(record.id);
    return entry;
  }

  #launch(entry: Entry, makeWork: WorkFactory): void {
    const { record } = entry;

    let work: JobWork;
    try {
      work = makeWork(entry);
    } catch (err) {
      this.#failed(entry, err);
      return;
    }

    record.status = 'running';
    record.startedAt = this.#deps.clock.now();
    this.#started += 1;
    // A job that ends within this turn of the loop goes straight from its
    // durable `waiting` record to its final one, which carries startedAt.
    setImmediate(() => {
      if (record.status === 'running') void this.#persist(record, false);
    });

    // Job actors are supervised here rather than as XState children of
    // one machine: spawning and stopping thousands of children copies the
    // parent's children map each time, which dominated the cost of a job.
    // Jobs are never restarted, so what the runner does is all a
    // supervisor would: run them, and report a crash as the job's end.
    const actor = createActor(jobLogic, {
      id: `job:${record.id}`,
      clock: this.#deps.clock as never,
      inspect: this.#deps.inspect as never,
      input: {
        jobId: record.id,
        work,
        maxDurationMs: record.maxDurationMs,
        cancelRequested: () => entry.cancelReason,
      },
    });
    entry.actor = actor;
    actor.subscribe({
      complete: () => this.finish(record.id, actor.getSnapshot().output!),
      error: (err) => this.crashed(record.id, toErrorInfo(err)),
    });
    actor.start();
  }

  #failed(entry: Entry, err: unknown): void {
    this.finish(entry.record.id, { status: 'error', error: toErrorInfo(err) });
  }

  /** Records how a job ended; called when its actor completes. */
  finish(id: string, output: JobOutput): void {
    const entry = this.#live.get(id);
    if (!entry) return;

    const { record } = entry;
    record.status =
      output.status === 'error' && entry.lostOn.includes(output.error.code)
        ? 'lost'
        : output.status;
    record.endedAt = this.#deps.clock.now();
    if (output.status === 'done') record.result = output.result ?? null;
    else record.error = output.error;

    entry.abort(JOB_ENDED);
    this.#finished += 1;
    this.#deps.logger.debug(
      { jobId: id, action: record.action, status: record.status },
      'job finished',
    );

    void this.#persist(record, false).then(() => {
      this.#live.delete(id);
      if (record.parentId) this.#live.get(record.parentId)?.children.delete(id);
      for (const resolve of entry.waiters) resolve(record);
    });
  }

  /** A job actor crashed: the engine, not the tasklet, failed. */
  crashed(id: string, error: ErrorInfo): void {
    this.finish(id, {
      status: 'error',
      error: {
        code: 'INTERNAL',
        message: `job actor crashed: ${error.message}`,
        retryable: false,
        cause: error,
      },
    });
  }

  #subtree(id: string): string[] {
    const ids: string[] = [];
    const visit = (jobId: string) => {
      const entry = this.#live.get(jobId);
      if (!entry) return;
      ids.push(jobId);
      for (const child of entry.children) visit(child);
    };
    visit(id);
    return ids;
  }

  /**
   * Writes a copy of the record, so that later changes to the live record
   * cannot slip into a batch that is already queued.
   */
  async #persist(record: JobRecord, mustSucceed: boolean): Promise<void> {
    const job = { ...record };
    const write = { kind: 'job.put' as const, job };
    if (mustSucceed) {
      await this.#deps.writer.writeOrThrow(write);
      this.#deps.events?.status(job);
      return;
    }

    try {
      await this.#deps.writer.writeOrThrow(write);
      this.#deps.events?.status(job);
    } catch (err) {
      this.#deps.logger.error(
        { jobId: record.id, status: record.status, err: toErrorInfo(err) },
        'job record could not be stored',
      );
    }
  }
}

function stateOf(entry: Entry): string {
  if (!entry.actor) return 'waiting';
  const snapshot = entry.actor.getSnapshot();
  if (snapshot.status !== 'active') return snapshot.status;
  if (entry.cancelReason !== null) return 'cancelling';
  const { work } = snapshot.input;
  return `step ${snapshot.index + 1}/${work.steps}`;
}
