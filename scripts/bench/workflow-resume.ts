import { createEngine, type Engine } from '../../runtime/engine.js';
import type { JobRecord } from '../../runtime/drp/types.js';
import { sleep } from '../services/child-process.js';
import { markingLogger, type LogMark } from './log-marks.js';
import { allJobs } from './paged.js';
import { check, inWindow, within } from './stats.js';
import {
  GO_EVENT,
  WAIT_ACTION,
  type WorkflowFixtures,
} from './workflow-fixtures.js';

export interface ResumeOptions {
  fixtures: WorkflowFixtures;
  /** The data folder of an engine that was killed holding the instances. */
  dataDir: string;
  count: number;
  inFlight: number;
  deadlineMs: number;
}

/** Seconds from the start of createEngine to each phase's end. */
export interface ResumePhases {
  storeOpen: number;
  /** The reaper has marked the dead engine's jobs interrupted. */
  reaped: number;
  firstResumed: number;
  lastResumed: number;
  /** createEngine resolved. */
  engineReady: number;
  /** Every instance's job is running under the new engine. */
  allRunning: number;
}

export interface ResumeResult {
  phases: ResumePhases;
  /** Jobs the reaper marked interrupted. */
  reapedJobs: number;
  /** Sending `go` to all and waiting for all to end done. */
  goSec: number;
}

const POLL_MS = 50;

/**
 * Starts an engine on the data folder of one that was killed while
 * holding `count` waiting instances, and times it until all of them run
 * again here; then sends each `go` and checks it ends with its own
 * `params.i`.
 */
export async function resumeAll(options: ResumeOptions): Promise<ResumeResult> {
  const { logger, marks } = markingLogger();
  const start = performance.now();
  const since = (at: number) => (at - start) / 1000;

  const engine = await within(
    options.deadlineMs,
    `resuming ${options.count} instances`,
    createEngine({
      ...options.fixtures,
      dataDir: options.dataDir,
      logger,
    }),
  );
  try {
    const engineReady = performance.now();
    const jobs = await within(
      options.deadlineMs,
      `${options.count} resumed instances running`,
      allRunning(engine, options.count),
    );
    const allRunningAt = performance.now();

    const mark = (msg: string): LogMark => {
      const found = marks.get(msg);
      check(found !== undefined, `the engine did not log '${msg}'`);
      return found;
    };
    const resumed = mark('workflow instance resumed');
    check(
      resumed.count === options.count,
      `${resumed.count} of ${options.count} instances logged as resumed`,
    );
    const goStart = performance.now();
    await within(
      options.deadlineMs,
      `sending ${GO_EVENT} to ${options.count} resumed instances`,
      goAll(engine, jobs, options.inFlight),
    );

    const reaped = mark(
      'marked the jobs of stopped engine processes as interrupted',
    );
    return {
      phases: {
        storeOpen: since(mark('DRP store open').first),
        reaped: since(reaped.first),
        firstResumed: since(resumed.first),
        lastResumed: since(resumed.last),
        engineReady: since(engineReady),
        allRunning: since(allRunningAt),
      },
      reapedJobs: Number(reaped.line.count),
      goSec: (performance.now() - goStart) / 1000,
    };
  } finally {
    await engine.stop();
  }
}

/** Polls the store until `count` instance jobs run under `engine`. */
async function allRunning(engine: Engine, count: number): Promise<JobRecord[]> {
  for (;;) {
    const jobs: JobRecord[] = [];
    const running = allJobs(engine.store, {
      action: WAIT_ACTION,
      owner: engine.owner,
      status: 'running',
    });
    for await (const job of running) jobs.push(job);
    if (jobs.length >= count) return jobs;
    await sleep(POLL_MS);
  }
}

/** Each instance, sent `go`, ends done with the `i` it was submitted with. */
async function goAll(
  engine: Engine,
  jobs: JobRecord[],
  inFlight: number,
): Promise<void> {
  await inWindow(jobs.length, inFlight, async (k) => {
    const job = jobs[k]!;
    await engine.sendEvent(job.id, GO_EVENT);
    const ended = await engine.wait(job.id);
    check(
      ended.status === 'done' && ended.result === job.params.i,
      `instance ${job.id} (i ${String(job.params.i)}) ended ${ended.status} ` +
        `with ${JSON.stringify(ended.error ?? ended.result)}`,
    );
  });
}
