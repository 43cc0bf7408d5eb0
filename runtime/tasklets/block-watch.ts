import { performance } from 'node:perf_hooks';

import type { Logger } from '../log.js';
import type { JobLog } from './types.js';

/** Past this many tasklets running, a block names none of them. */
const MAX_SUSPECTS = 8;

export interface TaskletRun {
  jobId: string;
  tasklet: string;
  log: JobLog;
}

interface Finished {
  run: TaskletRun;
  leftAt: number;
}

// How long finished runs stay suspects: longer than any monitor interval.
const RECENT_MS = 1000;

/**
 * Names the tasklets that block the event loop. The synchronous part of a
 * call into a tasklet is timed exactly. Code that runs after an `await`
 * inside a tasklet cannot be timed from outside, so the loop monitor's
 * reports are laid at the door of the tasklets running at that moment:
 * exact when one is running, a list of suspects when several are. A run
 * that ended during the block counts: the monitor only gets to speak once
 * the blocking code has finished.
 */
export class BlockWatch {
  readonly #thresholdMs: number;
  readonly #logger: Logger;
  readonly #active = new Set<TaskletRun>();
  // Ordered by leftAt; entries before #recentHead are forgotten.
  #recent: Finished[] = [];
  #recentHead = 0;
  #reportedSinceTick = false;

  constructor(thresholdMs: number, logger: Logger) {
    this.#thresholdMs = thresholdMs;
    this.#logger = logger;
  }

  get thresholdMs(): number {
    return this.#thresholdMs;
  }

  /** Runs `fn` as part of `run`, timing its synchronous part. */
  call<T>(run: TaskletRun, fn: () => T): T {
    const started = performance.now();
    try {
      return fn();
    } finally {
      const blockedMs = performance.now() - started;
      if (blockedMs >= this.#thresholdMs) {
        this.#reportedSinceTick = true;
        this.#report(run, Math.round(blockedMs), true);
      }
    }
  }

  enter(run: TaskletRun): void {
    this.#active.add(run);
  }

  leave(run: TaskletRun): void {
    this.#active.delete(run);
    const now = performance.now();
    this.#recent.push({ run, leftAt: now });
    if (this.#recent.length - this.#recentHead > 1024) this.#forget(now);
  }

  // Amortised O(1): drops from the front, compacts once half is dropped.
  #forget(now: number): void {
    const recent = this.#recent;
    while (
      this.#recentHead < recent.length &&
      now - recent[this.#recentHead]!.leftAt >= RECENT_MS
    ) {
      this.#recentHead++;
    }
    if (this.#recentHead * 2 > recent.length) {
      this.#recent = recent.slice(this.#recentHead);
      this.#recentHead = 0;
    }
  }

  /** Called by the loop monitor when a turn of the loop ran long. */
  loopBlocked(blockedMs: number): void {
    if (this.#reportedSinceTick) {
      this.#reportedSinceTick = false;
      return;
    }

    const now = performance.now();
    const blockStart = now - blockedMs;
    this.#forget(now);
    const suspects = [
      ...this.#active,
      ...this.#recent
        .slice(this.#recentHead)
        .filter((f) => f.leftAt >= blockStart)
        .map((f) => f.run),
    ];
    if (suspects.length === 0) {
      this.#logger.warn({ blockedMs }, 'event loop blocked outside tasklets');
      return;
    }
    // With many running, naming each in its job's log would add a write
    // per job to a loop that is already behind, and accuse mostly
    // bystanders; the engine log gets one line instead.
    if (suspects.length > MAX_SUSPECTS) {
      this.#logger.warn(
        {
          blockedMs,
          running: suspects.length,
          tasklets: [...new Set(suspects.map((run) => run.tasklet))].slice(
            0,
            MAX_SUSPECTS,
          ),
        },
        `event loop blocked for ${blockedMs} ms ` +
          `with ${suspects.length} tasklets running`,
      );
      return;
    }
    for (const run of suspects) {
      this.#report(run, blockedMs, suspects.length === 1, suspects.length);
    }
  }

  #report(run: TaskletRun, blockedMs: number, certain: boolean, of = 1): void {
    const message = certain
      ? `tasklet ${run.tasklet} blocked the event loop for ${blockedMs} ms`
      : `the event loop was blocked for ${blockedMs} ms while tasklet ` +
        `${run.tasklet} ran (one of ${of} running tasklets)`;
    const data = {
      tasklet: run.tasklet,
      blockedMs,
      thresholdMs: this.#thresholdMs,
      certain,
    };
    this.#logger.warn({ jobId: run.jobId, ...data }, message);
    run.log.warn(message, data);
  }
}
