import { join, resolve } from 'node:path';

import { createActor, type AnyActorRef, type EventObject } from 'xstate';

import type { WriteRequest } from '../actors/drp-writer.js';
import { drpWriterMachine } from '../actors/drp-writer.js';
import {
  supervisorMachine,
  type RestartIntensity,
} from '../actors/supervisor.js';
import { localAgents } from './agent/local-agent.js';
import { systemClock, type Clock } from './clock.js';
import { openSqliteStore } from './drp/sqlite-store.js';
import type { JobRecord, Store } from './drp/types.js';
import { DrpWriterClient } from './drp/writer-client.js';
import { toWfeError, WfeError } from './errors.js';
import { createIdGenerator, type IdGenerator } from './ids.js';
import { JobRunner, type LiveJob } from './jobs/runner.js';
import { validateSubmission } from './jobs/submission.js';
import { createLogger, type Logger } from './log.js';
import { startLoopMonitor, type LoopMonitor } from './loop-monitor.js';
import { Mailbox, type MailboxStats } from './mailbox.js';
import { BlockWatch } from './tasklets/block-watch.js';
import { actionsAccess, drpAccess } from './tasklets/capabilities.js';
import type { Capabilities } from './tasklets/context.js';
import { taskletChain } from './tasklets/chain.js';
import {
  createTaskletRegistry,
  type TaskletRegistry,
} from './tasklets/registry.js';
import type { ActionOptions, Tasklet } from './tasklets/types.js';
import { WorkerPool } from './tasklets/worker-pool.js';

export interface EngineOptions {
  /** Folders of tasklets. */
  taskletRoots: string[];
  /** Where the embedded store lives. @default '.wfe' */
  dataDir?: string;
  /** A store to use instead of the embedded one. */
  store?: Store;
  logger?: Logger;
  clock?: Clock;
  ids?: IdGenerator;
  /** Pick up changed tasklet files without a restart. @default false */
  watch?: boolean;
  /** A tasklet holding the loop this long is reported. @default 200 */
  blockThresholdMs?: number;
  /** The writer's mailbox and batch size. */
  writer?: { capacity?: number; maxBatch?: number };
  workerThreads?: number;
  intensity?: RestartIntensity;
}

export interface Engine {
  readonly store: Store;
  readonly registry: TaskletRegistry;
  readonly logger: Logger;
  /** Validates and records a job, then starts it; resolves when durable. */
  submit(submission: unknown): Promise<JobRecord>;
  /** Submits and waits for the job to end. */
  run(submission: unknown): Promise<JobRecord>;
  wait(id: string): Promise<JobRecord>;
  cancel(id: string, reason?: string): Promise<void>;
  mailboxes(): MailboxStats[];
  /**
   * Rejects with ENGINE_FAILED if the root supervisor gives up, after
   * which the engine stops itself; never resolves. Race it against work
   * that would otherwise wait forever.
   */
  readonly failed: Promise<never>;
  /** The root actor, for inspection. */
  readonly root: AnyActorRef;
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Wires the actor tree together and starts it. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const logger = options.logger ?? createLogger();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? createIdGenerator(() => clock.now());
  const dataDir = resolve(options.dataDir ?? '.wfe');
  const store =
    options.store ?? openSqliteStore({ path: join(dataDir, 'wfe.db') });

  const registry = await createTaskletRegistry({
    roots: options.taskletRoots,
    logger,
    watch: options.watch ?? false,
    cacheDir: join(dataDir, 'cache', 'tasklets'),
  });

  const writerMailbox = new Mailbox<WriteRequest>({
    name: 'drp-writer',
    capacity: options.writer?.capacity ?? 10_000,
    overflow: 'wait',
  });

  // Supervisors hear from few senders (spawn and stop requests); a full
  // mailbox there means something is looping, so it rejects.
  const rootMailbox = new Mailbox<EventObject>({
    name: 'supervisor',
    capacity: 64,
    overflow: 'reject',
  });
  const writer = new DrpWriterClient(writerMailbox);
  const drp = drpAccess(store, writer, ids, clock);
  const blockWatch = new BlockWatch(options.blockThresholdMs ?? 200, logger);
  const workers = new WorkerPool({
    size: options.workerThreads,
    cacheDir: join(dataDir, 'cache', 'workers'),
  });

  const runner: JobRunner = new JobRunner({
    store,
    writer,
    clock,
    ids,
    logger,
  });

  await markInterrupted(store, clock, logger);

  const root: AnyActorRef = createActor(supervisorMachine, {
    clock,
    input: {
      name: 'root',
      mailbox: rootMailbox,
      logger,
      clock,
      intensity: options.intensity,
      children: [
        {
          id: 'drp-writer',
          logic: drpWriterMachine,
          restart: 'permanent',
          input: {
            store,
            mailbox: writerMailbox,
            logger,
            maxBatch: options.writer?.maxBatch ?? 512,
          },
        },
      ],
    },
  });

  let stopping: Promise<void> | null = null;
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (err) =>
      reject(
        new WfeError(
          'ENGINE_FAILED',
          `the engine failed: ${toWfeError(err).message}`,
          {
            cause: err,
          },
        ),
      );
  });
  failed.catch(() => {});

  root.subscribe({
    error: (err) => {
      logger.fatal({ err }, 'root supervisor failed; stopping the engine');
      fail(err);
      void engine.stop({ graceMs: 0 });
    },
  });
  root.start();

  const monitor: LoopMonitor = startLoopMonitor({
    thresholdMs: blockWatch.thresholdMs,
    onBlock: (ms) => blockWatch.loopBlocked(ms),
  });

  const startJob = async (
    input: unknown,
    parentId: string | null,
  ): Promise<JobRecord> => {
    const submission = validateSubmission(input);
    const action = registry.resolve(submission.action);
    return runner.start(submission, parentId, (job) =>
      taskletChain({
        role: action.role,
        tasklets: [...action.tasklets],
        job,
        blockWatch,
        workers,
        capabilities: (tasklet) => capabilitiesFor(action.role, tasklet, job),
      }),
    );
  };

  const waitResult = async (id: string): Promise<unknown> => {
    const final = await runner.wait(id);
    if (final.status === 'done') return final.result;
    const error = final.error!;
    throw new WfeError(error.code, error.message, {
      retryable: error.retryable,
      details: {
        jobId: final.id,
        action: final.action,
        ...asObject(error.details),
      },
      cause: error.cause && WfeError.fromInfo(error.cause),
    });
  };

  const capabilitiesFor = (
    role: string,
    tasklet: Tasklet,
    job: LiveJob,
  ): Capabilities => {
    if (role === 'actor') {
      return {
        agents: localAgents({ runner, job, taskletFile: tasklet.file }),
      };
    }
    return {
      drp,
      actions: actionsAccess(
        (action: string, childOptions: ActionOptions = {}) =>
          startJob({ action, ...childOptions }, job.record.id),
        waitResult,
      ),
    };
  };

  const engine: Engine = {
    store,
    registry,
    logger,
    root,
    failed,
    submit: (submission) => {
      if (stopping) {
        return Promise.reject(
          new WfeError('SHUTTING_DOWN', 'the engine is stopping', {
            retryable: true,
          }),
        );
      }
      return startJob(submission, null);
    },
    run: async (submission) =>
      runner.wait((await engine.submit(submission)).id),
    wait: (id) => runner.wait(id),
    cancel: (id, reason) => runner.cancel(id, reason),
    mailboxes: () => [rootMailbox.stats(), writerMailbox.stats()],
    stop: (stopOptions = {}) =>
      (stopping ??= shutdown(stopOptions.graceMs ?? 5000)),
  };

  // Every step runs even if an earlier one fails. The grace period is
  // real time: it bounds how long this process takes to stop.
  async function shutdown(graceMs: number): Promise<void> {
    // A writer that died cannot answer; failing its queued writes at once
    // lets the running jobs end. Those writes were never acknowledged.
    const writerAlive = root.getSnapshot().status === 'active';
    if (!writerAlive) closeWriter();

    const settled = Promise.all(runner.liveIds().map((id) => runner.wait(id)));
    const timer = setTimeout(() => {
      for (const id of runner.liveIds()) {
        void runner.cancel(id, 'the engine stopped').catch(() => {});
      }
    }, graceMs);
    await settled.catch(() => {});
    clearTimeout(timer);

    monitor.stop();
    // The writer is FIFO: once this empty write is answered, everything
    // sent before it is durable.
    if (writerAlive) {
      await writer.write({ kind: 'log.append', entries: [] }).catch(() => {});
    }
    root.stop();
    closeWriter();
    await Promise.allSettled([registry.close(), workers.close()]);
    await store.close().catch((err: unknown) => {
      logger.error({ err }, 'store did not close cleanly');
    });
    logger.info({ jobsLeft: runner.running }, 'engine stopped');
  }

  function closeWriter(): void {
    const closed = new WfeError('SHUTTING_DOWN', 'the engine stopped');
    for (const request of writerMailbox.close(closed)) request.reject(closed);
  }

  logger.info(
    { store: store.kind, actions: registry.actions().length },
    'engine started',
  );
  return engine;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * Jobs left `waiting` or `running` by a previous process cannot be
 * resumed yet; they are marked as interrupted rather than left running
 * forever. This runs before the writer starts, so it commits directly.
 */
async function markInterrupted(
  store: Store,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  for (const status of ['running', 'waiting'] as const) {
    for (;;) {
      const stale = await store.listJobs({ status, limit: 500 });
      if (stale.length === 0) break;

      const outcomes = await store.commit(
        stale.map((job) => ({
          kind: 'job.put' as const,
          job: {
            ...job,
            status: 'error' as const,
            endedAt: clock.now(),
            error: {
              code: 'INTERRUPTED',
              message: `the engine stopped while this job was ${status}`,
              retryable: true,
            },
          },
        })),
      );

      // A record that cannot be rewritten would be listed again forever.
      const failed = outcomes.find((outcome) => !outcome.ok);
      if (failed && !failed.ok) {
        throw new WfeError(
          'STORE_ERROR',
          `cannot mark interrupted jobs: ${failed.error.message}`,
          { details: failed.error },
        );
      }
      logger.warn({ count: stale.length, status }, 'marked interrupted jobs');
    }
  }
}
