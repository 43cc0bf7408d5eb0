import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import type { Bus } from '../bus/types.js';

/** Where job runners say they are alive: `{owner, role}`. */
export const OWNERS_ALIVE = 'wfe.internal.owners.alive';

/**
 * Published when the reaper has marked jobs of a dead runner: workers
 * then look for workflow instances to resume.
 */
export const JOBS_REAPED = 'wfe.internal.jobs.reaped';

/** Where the workflows of one engine process take events. */
export function ownerEventSubject(owner: string): string {
  return `wfe.internal.runner.${owner}.event`;
}

/** Where the runner of one engine process takes cancel requests. */
export function ownerCancelSubject(owner: string): string {
  return `wfe.internal.runner.${owner}.cancel`;
}

/**
 * A name for this engine process, unique across restarts and usable as
 * a subject token: host, pid and a random part.
 */
export function newOwnerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-');
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface LivenessTimes {
  /** How often a runner says it is alive. @default 2000 */
  heartbeatMs: number;
  /**
   * A runner not heard from for this long is taken for dead, and its
   * unfinished jobs are marked interrupted. Long enough to ride out a
   * NATS server restart. @default 15000
   */
  deadAfterMs: number;
}

export const DEFAULT_LIVENESS: LivenessTimes = {
  heartbeatMs: 2000,
  deadAfterMs: 15_000,
};

/** Publishes this runner's heartbeat until stopped. */
export function startHeartbeat(
  bus: Bus,
  owner: string,
  role: string,
  heartbeatMs: number,
): () => void {
  const beat = () => bus.publish(OWNERS_ALIVE, { owner, role });
  beat();
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}
