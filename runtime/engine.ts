import { tmpdir } from 'node:os';
import { resolve } from 'node:path';

import type { NatsConnection } from 'nats';
import { createActor, type AnyActorRef, type EventObject } from 'xstate';

import {
  supervisorMachine,
  type ChildSpec,
  type RestartIntensity,
} from '../actors/supervisor.js';
import { serveAgents, type AgentController } from './agent/controller.js';
import {
  startAgentController,
  type XmppAgentController,
} from './xmpp/controller.js';
import type { XmppOptions } from './xmpp/options.js';
import { connectNats, type NatsOptions } from './bus/connect.js';
import { HybridBus } from './bus/hybrid.js';
import { LocalBus } from './bus/local.js';
import { NatsBus } from './bus/nats.js';
import type { Bus } from './bus/types.js';
import { systemClock, type Clock } from './clock.js';
import type { DataLock } from './drp/data-lock.js';
import type { MongoStoreOptions } from './drp/mongo-store.js';
import { openRoleStore } from './drp/open-store.js';
import type { JobRecord, Store } from './drp/types.js';
import { DrpWriterClient } from './drp/writer-client.js';
import { toErrorInfo, toWfeError, WfeError } from './errors.js';
import { createIdGenerator, type IdGenerator } from './ids.js';
import type { Inspect } from './inspection.js';
import {
  introspection,
  type EngineIntrospection,
} from './inspector/introspect.js';
import { createLogger, type Logger } from './log.js';
import { Mailbox, type MailboxStats } from './mailbox.js';
import { publishJobEvents } from './nats/events.js';
import { startNatsServices, type NatsServices } from './nats/services.js';
import {
  DEFAULT_LIVENESS,
  newOwnerId,
  startHeartbeat,
  type LivenessTimes,
  JOBS_REAPED,
} from './roles/liveness.js';
import { WorkerRole } from './roles/worker.js';
import { WriterRole } from './roles/writer.js';
import type { TaskletRegistry } from './tasklets/registry.js';

/** Which parts of the engine this process runs. */
export const ENGINE_ROLES = ['all', 'worker', 'writer', 'controller'] as const;
export type EngineRole = (typeof ENGINE_ROLES)[number];

export interface EngineOptions {
  /** Folders of tasklets. */
  taskletRoots: string[];
  /** Folders of workflow definitions (YAML or JSON). */
  workflowRoots?: string[];
  /** @default 'all'; the other roles need NATS. */
  role?: EngineRole;
  /** Connect to NATS: submissions, events, and the bus across processes. */
  nats?: NatsOptions;
  /** Log in to XMPP as the agent controller, to reach remote agents. */
  xmpp?: XmppOptions;
  /** How the XMPP agent controller waits for and loads remote agents. */
  agents?: {
    /** A run waits this long for its agent to come online. @default 30000 */
    startTimeoutMs?: number;
    /** An agent may be away this long mid-script. @default 30000 */
    lostGraceMs?: number;
    /** Runs in flight on one agent. @default 4 */
    concurrencyPerAgent?: number;
  };
  /** Where the embedded store lives. @default '.wfe' */
  dataDir?: string;
  /**
   * Keep the DRP in MongoDB instead of the embedded SQLite store (the
   * writer and `all` roles open it).
   */
  mongodb?: MongoStoreOptions;
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
  /** Largest submission taken over NATS. @default 262144 */
  submitMaxBytes?: number;
  /** Intake jobs running at once on this worker. @default 256 */
  intakeInFlight?: number;
  liveness?: Partial<LivenessTimes>;
  /** Reports every actor's inspection events (XState `inspect`). */
  inspect?: Inspect;
}

export interface Engine {
  readonly role: EngineRole;
  /** This process, as recorded on the jobs it runs. */
  readonly owner: string;
  readonly bus: Bus;
  readonly store: Store;
  /** The tasklets, in roles that run jobs; null otherwise. */
  readonly registry: TaskletRegistry | null;
  /** The actions that workflows implement (empty without a worker). */
  workflowActions(): string[];
  readonly logger: Logger;
  /** Validates and records a job, then starts it; resolves when durable. */
  submit(submission: unknown): Promise<JobRecord>;
  /** Submits and waits for the job to end. */
  run(submission: unknown): Promise<JobRecord>;
  /** Resolves with the job's final record, wherever it runs. */
  wait(id: string): Promise<JobRecord>;
  cancel(id: string, reason?: string): Promise<void>;
  /** Sends a named event to a workflow instance running here. */
  sendEvent(id: string, type: string, payload?: unknown): Promise<void>;
  mailboxes(): MailboxStats[];
  /**
   * Rejects with ENGINE_FAILED if the root supervisor gives up, after
   * which the engine stops itself; never resolves. Race it against work
   * that would otherwise wait forever.
   */
  readonly failed: Promise<never>;
  /** The root actor, for inspection. */
  readonly root: AnyActorRef;
  /** The live state of the actors, agents and jobs, for the inspector. */
  readonly introspection: EngineIntrospection;
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Wires the actor tree together for this process's role and starts it. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const role = options.role ?? 'all';
  const logger = options.logger ?? createLogger();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? createIdGenerator(() => clock.now());
  const dataDir = resolve(options.dataDir ?? '.wfe');
  const owner = newOwnerId();
  const times = { ...DEFAULT_LIVENESS, ...options.liveness };
  const runsWriter = role === 'all' || role === 'writer';
  const runsWorker = role === 'all' || role === 'worker';
  const runsController = role === 'all' || role === 'controller';
  const cleanup: Array<() => unknown> = [];

  checkRole(role, options);
  const nc = options.nats
    ? await connectNats({ name: `wfe ${role}`, ...options.nats }, logger)
    : null;
  const local = new LocalBus({ logger });
  const bus: Bus = nc
    ? new HybridBus({
        local,
        nats: new NatsBus({ connection: nc, logger }),
      })
    : local;

  try {
    const opened = await openRoleStore({
      runsWriter,
      runsWorker,
      bus,
      owner,
      dataDir,
      logger,
      mongodb: options.mongodb,
      store: options.store,
    });
    cleanup.push(() => opened.close());
    const { store, lock, previousOwner } = opened;

    const writer = new DrpWriterClient(bus);
    const events = publishJobEvents(bus);
    // One signal per turn of the loop, however many jobs a sweep marked.
    let reapedPending = false;
    const reapedSignal = () => {
      if (reapedPending) return;
      reapedPending = true;
      setImmediate(() => {
        reapedPending = false;
        bus.publish(JOBS_REAPED, {});
      });
    };
    const writerRole = runsWriter
      ? new WriterRole({
          bus,
          store,
          writer,
          clock,
          logger,
          capacity: options.writer?.capacity ?? 10_000,
          maxBatch: options.writer?.maxBatch ?? 512,
          times,
          shared: nc !== null,
          selfOwner: runsWorker ? owner : null,
          deadOwner: previousOwner,
          onReaped: (job) => {
            events.status(job);
            reapedSignal();
          },
        })
      : null;

    const root = startRoot(options, logger, clock, [
      ...(writerRole ? [writerRole.childSpec()] : []),
    ]);
    cleanup.push(() => root.stop());
    if (writerRole) {
      cleanup.push(() => writerRole.stopServing());
      await writerRole.reaper.start();
    }

    // One server of rscript runs per process: the XMPP controller serves
    // the local agent too.
    const agents = !runsController
      ? null
      : options.xmpp
        ? await startAgentController({
            ...options.xmpp,
            ...options.agents,
            bus,
            logger,
            tmpDir: tmpdir(),
            inspect: options.inspect,
          })
        : serveAgents(bus, { logger, tmpDir: tmpdir() });
    if (agents) cleanup.push(() => agents.close());

    const worker = runsWorker
      ? await WorkerRole.start({
          owner,
          bus,
          store,
          writer,
          clock,
          ids,
          logger,
          dataDir,
          taskletRoots: options.taskletRoots,
          workflowRoots: options.workflowRoots,
          watch: options.watch ?? false,
          blockThresholdMs: options.blockThresholdMs ?? 200,
          workerThreads: options.workerThreads,
          events,
          inspect: options.inspect,
        })
      : null;
    if (worker) {
      cleanup.push(() => worker.close());
      // The reaper has marked the jobs of a dead engine by now. A worker
      // whose writer is not up yet starts all the same.
      await worker.workflows.resumeInterrupted().catch((err: unknown) => {
        logger.warn(
          { err: toErrorInfo(err) },
          'could not look for workflow instances to resume',
        );
      });
    }
    const stopHeartbeat = worker
      ? startHeartbeat(bus, owner, role, times.heartbeatMs)
      : () => {};
    cleanup.push(stopHeartbeat);

    const services: NatsServices | null = nc
      ? await startNatsServices({
          nc,
          bus,
          store,
          worker,
          serveQueries: runsWriter,
          logger,
          submitMaxBytes: options.submitMaxBytes ?? 256 * 1024,
          intakeInFlight: options.intakeInFlight ?? 256,
        })
      : null;

    return assemble({
      role,
      owner,
      bus,
      nc,
      store,
      logger,
      root: root.actor,
      rootMailbox: root.mailbox,
      clock,
      failed: root.failed,
      worker,
      writerRole,
      agents,
      services,
      stopHeartbeat,
      lock,
    });
  } catch (err) {
    for (const step of cleanup.reverse()) await step();
    await local.close();
    await nc?.close();
    throw err;
  }
}

function checkRole(role: string, options: EngineOptions): void {
  if (!ENGINE_ROLES.includes(role as EngineRole)) {
    throw new WfeError(
      'BAD_CONFIG',
      `role must be one of ${ENGINE_ROLES.join(', ')}, got '${role}'`,
    );
  }
  if (role !== 'all' && !options.nats) {
    throw new WfeError(
      'BAD_CONFIG',
      `role '${role}' needs NATS to reach the other roles; ` +
        'give --nats URL or WFE_NATS_URL, or run --role all',
    );
  }
}

interface Root {
  actor: AnyActorRef;
  mailbox: Mailbox<EventObject>;
  failed: Promise<never>;
  stop(): void;
}

/** The root supervisor, and a promise that rejects if it gives up. */
function startRoot(
  options: EngineOptions,
  logger: Logger,
  clock: Clock,
  children: ChildSpec[],
): Root {
  // Supervisors hear from few senders (spawn and stop requests); a full
  // mailbox there means something is looping, so it rejects.
  const mailbox = new Mailbox<EventObject>({
    name: 'supervisor',
    capacity: 64,
    overflow: 'reject',
  });
  const actor: AnyActorRef = createActor(supervisorMachine, {
    clock,
    inspect: options.inspect as never,
    input: {
      name: 'root',
      mailbox,
      logger,
      clock,
      intensity: options.intensity,
      children,
    },
  });

  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (err) =>
      reject(
        new WfeError(
          'ENGINE_FAILED',
          `the engine failed: ${toWfeError(err).message}`,
          { cause: err },
        ),
      );
  });
  failed.catch(() => {});

  actor.subscribe({
    error: (err) => {
      logger.fatal({ err }, 'root supervisor failed; stopping the engine');
      fail(err);
    },
  });
  actor.start();
  return { actor, mailbox, failed, stop: () => actor.stop() };
}

interface Parts {
  role: EngineRole;
  owner: string;
  bus: Bus;
  nc: NatsConnection | null;
  store: Store;
  logger: Logger;
  root: AnyActorRef;
  rootMailbox: Mailbox<EventObject>;
  clock: Clock;
  failed: Promise<never>;
  worker: WorkerRole | null;
  writerRole: WriterRole | null;
  agents: AgentController | XmppAgentController | null;
  services: NatsServices | null;
  stopHeartbeat(): void;
  lock: DataLock | null;
}

function assemble(parts: Parts): Engine {
  const { worker, writerRole, logger, root } = parts;
  let stopping: Promise<void> | null = null;

  const needWorker = (what: string): WorkerRole => {
    if (!worker) {
      throw new WfeError(
        'NOT_SUPPORTED',
        `this process runs the ${parts.role} role, which does not ${what}`,
      );
    }
    return worker;
  };

  const engine: Engine = {
    role: parts.role,
    owner: parts.owner,
    bus: parts.bus,
    store: parts.store,
    registry: worker?.registry ?? null,
    workflowActions: () => worker?.workflows.actions() ?? [],
    logger,
    root,
    introspection: introspection({
      clock: parts.clock,
      root,
      rootMailbox: parts.rootMailbox,
      writerMailbox: writerRole?.mailbox ?? null,
      runner: worker?.runner ?? null,
      workflows: worker?.workflows ?? null,
      agents: parts.agents,
    }),
    failed: parts.failed,
    submit: async (submission) => {
      if (stopping) {
        throw new WfeError('SHUTTING_DOWN', 'the engine is stopping', {
          retryable: true,
        });
      }
      return needWorker('run jobs').submit(submission);
    },
    run: async (submission) => {
      const job = await engine.submit(submission);
      return needWorker('run jobs').wait(job.id);
    },
    wait: async (id) => needWorker('follow jobs').wait(id),
    cancel: async (id, reason) => needWorker('cancel jobs').cancel(id, reason),
    sendEvent: async (id, type, payload) =>
      needWorker('send workflow events').workflows.sendEvent(id, type, payload),
    mailboxes: () => (writerRole ? [writerRole.mailbox.stats()] : []),
    stop: (stopOptions = {}) =>
      (stopping ??= shutdown(stopOptions.graceMs ?? 5000)),
  };

  parts.failed.catch(() => void engine.stop({ graceMs: 0 }));

  // Every step runs even if an earlier one fails. The grace period is
  // real time: it bounds how long this process takes to stop.
  async function shutdown(graceMs: number): Promise<void> {
    // A writer that died cannot answer; failing its queued writes at once
    // lets the running jobs end. Those writes were never acknowledged.
    const writerAlive = root.getSnapshot().status === 'active';
    if (!writerAlive) writerRole?.failQueued();

    await parts.services?.stopTaking();
    if (worker) await worker.drain(graceMs);
    parts.stopHeartbeat();
    await worker?.close();
    await parts.agents?.close();

    // No new writes from here on; those already queued become durable.
    writerRole?.stopServing();
    if (writerRole && writerAlive) await writerRole.flush();
    await parts.services?.close();
    root.stop();
    writerRole?.failQueued();
    await parts.bus.close();
    await parts.nc?.drain().catch(() => parts.nc?.close());
    await parts.store.close().catch((err: unknown) => {
      logger.error({ err }, 'store did not close cleanly');
    });
    parts.lock?.release();
    logger.info({ jobsLeft: worker?.runner.running ?? 0 }, 'engine stopped');
  }

  logger.info(
    {
      role: parts.role,
      owner: parts.owner,
      store: parts.store.kind,
      nats: parts.nc !== null,
      actions: worker?.registry.actions().length ?? 0,
    },
    'engine started',
  );
  return engine;
}
