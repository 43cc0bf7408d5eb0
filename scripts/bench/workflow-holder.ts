/**
 * The process that holds the waiting instances of the workflow
 * benchmark, run by workflow-waiting.ts as
 * `node --expose-gc workflow-holder.js '<HolderTask JSON>'`: it starts an
 * engine, submits `count` instances that wait for an event, and once all
 * of them are in their wait state writes a report to `reportFile`. Then
 * it holds them until it is killed.
 */
import { rename, writeFile } from 'node:fs/promises';

import { createEngine } from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';
import { allInstances, countOf } from './paged.js';
import { sleep } from '../services/child-process.js';
import { inWindow } from './stats.js';
import { WAIT_ACTION, WAIT_STATE } from './workflow-fixtures.js';

export interface HolderTask {
  dataDir: string;
  taskletRoots: string[];
  workflowRoots: string[];
  count: number;
  /** Submissions in flight at once. */
  inFlight: number;
  reportFile: string;
}

export interface HolderReport {
  pid: number;
  /** Whether global.gc() ran before each memory reading. */
  gc: boolean;
  /** With the engine started, before any submission. */
  idleRssBytes: number;
  /** With all `count` instances waiting. */
  rssBytes: number;
  heapUsedBytes: number;
  submitSec: number;
  /** From the first submission until all were seen waiting. */
  allWaitingSec: number;
}

const POLL_MS = 200;

function memory(): NodeJS.MemoryUsage {
  globalThis.gc?.();
  return process.memoryUsage();
}

async function hold(task: HolderTask): Promise<void> {
  const engine = await createEngine({
    taskletRoots: task.taskletRoots,
    workflowRoots: task.workflowRoots,
    dataDir: task.dataDir,
    logger: silentLogger(),
  });
  const idle = memory();

  const start = performance.now();
  await inWindow(task.count, task.inFlight, async (i) => {
    await engine.submit({ action: WAIT_ACTION, params: { i } });
  });
  const submitted = performance.now();

  // Each instance's record says where it is once its first save landed.
  const waiting = () =>
    countOf(allInstances(engine.store), ({ record }) =>
      record.states.includes(WAIT_STATE),
    );
  while ((await waiting()) < task.count) await sleep(POLL_MS);
  const allWaiting = performance.now();

  const held = memory();
  const report: HolderReport = {
    pid: process.pid,
    gc: globalThis.gc !== undefined,
    idleRssBytes: idle.rss,
    rssBytes: held.rss,
    heapUsedBytes: held.heapUsed,
    submitSec: (submitted - start) / 1000,
    allWaitingSec: (allWaiting - start) / 1000,
  };
  // Whole or not at all: the parent polls for this file.
  await writeFile(`${task.reportFile}.tmp`, JSON.stringify(report));
  await rename(`${task.reportFile}.tmp`, task.reportFile);
}

await hold(JSON.parse(process.argv[2] ?? '') as HolderTask);
// Held until the benchmark kills this process.
setInterval(() => {}, 60_000);
