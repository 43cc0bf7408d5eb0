import type { Bus, BusSubscription } from '../bus/types.js';
import type { Clock } from '../clock.js';
import type { JobRecord, JobStatus, Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import type { Logger } from '../log.js';
import { OWNERS_ALIVE, type LivenessTimes } from './liveness.js';

export interface ReaperOptions {
  bus: Bus;
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  logger: Logger;
  times: LivenessTimes;
  /** The runner of this process, alive as long as the reaper is. */
  selfOwner: string | null;
  /**
   * The process that held this data folder before and is known to have
   * ended, so that its jobs need not wait out the heartbeat timeout.
   */
  deadOwner: string | null;
  /**
   * True when runners may live in other processes. Without it, every
   * owner but `selfOwner` is a process that has ended.
   */
  shared: boolean;
  /** Told of each job marked interrupted, once it is durable. */
  onReaped?(job: JobRecord): void;
}

const PAGE = 500;

/**
 * Finds jobs whose runner has died, waiting or running, and marks them
 * interrupted so that none stays "running" forever. Runners prove they
 * are alive with heartbeats on the bus.
 */
export class Reaper {
  readonly #options: ReaperOptions;
  readonly #seen = new Map<string, number>();
  readonly #startedAt: number;
  readonly #heartbeats: BusSubscription;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<number> | null = null;

  constructor(options: ReaperOptions) {
    this.#options = options;
    this.#startedAt = options.clock.now();
    this.#heartbeats = options.bus.subscribe(OWNERS_ALIVE, (message) => {
      const { owner } = (message ?? {}) as { owner?: unknown };
      if (typeof owner === 'string') {
        this.#seen.set(owner, options.clock.now());
      }
    });
  }

  /** Sweeps now and then every heartbeat period, until stopped. */
  start(): Promise<number> {
    if (this.#options.shared) {
      this.#timer = setInterval(
        () => void this.sweep(),
        this.#options.times.heartbeatMs,
      );
      this.#timer.unref();
    }
    return this.sweep();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#heartbeats.unsubscribe();
  }

  /** Marks the jobs of dead runners; resolves with how many. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepAll().finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  async #sweepAll(): Promise<number> {
    let reaped = 0;
    for (const status of ['running', 'waiting'] as const) {
      reaped += await this.#sweepStatus(status);
    }
    if (reaped > 0) {
      this.#options.logger.warn(
        { count: reaped },
        'marked the jobs of stopped engine processes as interrupted',
      );
    }
    return reaped;
  }

  async #sweepStatus(status: JobStatus): Promise<number> {
    const { store, logger } = this.#options;
    let reaped = 0;
    let beforeId: string | undefined;

    for (;;) {
      const page = await store.listJobs({ status, limit: PAGE, beforeId });
      const dead = page.filter((job) => this.#isDead(job.owner));
      const outcomes = await Promise.allSettled(
        dead.map((job) => this.#interrupt(job, status)),
      );

      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'fulfilled') reaped++;
        else
          logger.error(
            { jobId: dead[i]!.id, err: outcome.reason },
            'cannot mark an interrupted job',
          );
      }

      if (page.length < PAGE) return reaped;
      beforeId = page[page.length - 1]!.id;
    }
  }

  #isDead(owner: string | null): boolean {
    const { selfOwner, shared, times, clock } = this.#options;
    if (owner !== null && owner === selfOwner) return false;
    if (!shared || owner === this.#options.deadOwner) return true;

    // An owner not heard of yet may be alive and about to speak.
    const lastSeen =
      (owner === null ? undefined : this.#seen.get(owner)) ?? this.#startedAt;
    return clock.now() - lastSeen > times.deadAfterMs;
  }

  async #interrupt(job: JobRecord, status: JobStatus): Promise<void> {
    const marked: JobRecord = {
      ...job,
      status: 'error',
      endedAt: this.#options.clock.now(),
      error: {
        code: 'INTERRUPTED',
        message:
          status === 'running'
            ? 'the engine process running this job stopped before it ended'
            : 'the engine process holding this job stopped before it ' +
              'started; submit it again to run it',
        retryable: true,
        details: { owner: job.owner },
      },
    };
    await this.#options.writer.writeOrThrow({ kind: 'job.put', job: marked });
    this.#options.onReaped?.(marked);
  }
}
