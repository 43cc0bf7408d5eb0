/**
 * The workflow benchmark (`npm run bench:workflows`): ten-step workflow
 * instances per second against the same steps as nested actions, the
 * memory of 10,000 instances waiting for an event, and how long an
 * engine takes to resume all of them after the one holding them was
 * killed. Prints one line per figure, then a last line that is exactly
 * a JSON object. `BENCH_QUICK=1` shrinks every workload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import { fmt, machineLine, round } from './stats.js';
import { GO_EVENT, STEPS, workflowFixtures } from './workflow-fixtures.js';
import { holdWaiting } from './workflow-waiting.js';
import { resumeAll } from './workflow-resume.js';
import { stepRounds } from './workflow-steps.js';

const quick = process.env.BENCH_QUICK === '1';
const scale = (n: number) => (quick ? Math.ceil(n / 10) : n);
const IN_FLIGHT = 100;
const WAITING = scale(10_000);
// Far beyond what a measurement takes: only a stuck engine reaches it.
const DEADLINE_MS = 180_000;
const MB = 2 ** 20;

async function main(): Promise<void> {
  console.log(machineLine(quick));

  const workDir = await mkdtemp(join(os.tmpdir(), 'wfe-bench-workflows-'));
  try {
    const fixtures = await workflowFixtures(join(workDir, 'fixtures'));

    const steps = await stepRounds({
      workDir: join(workDir, 'steps'),
      fixtures,
      rounds: 3,
      run: { actions: scale(2_000), warmUp: scale(200), inFlight: IN_FLIGHT },
      deadlineMs: DEADLINE_MS,
    });
    console.log(
      `workflow: ${fmt(steps.first)} instances/s (median) of ${STEPS} ` +
        `no-op task states, each instance saved at every step, ` +
        `${IN_FLIGHT} in flight, SQLite FULL`,
    );
    console.log(
      `nested: ${fmt(steps.second)} runs/s (median) of one action calling ` +
        `${STEPS} no-op actions in sequence; median ratio ` +
        `${steps.ratio.toFixed(3)}`,
    );

    const dataDir = join(workDir, 'waiting-data');
    const holder = await holdWaiting(
      {
        dataDir,
        ...fixtures,
        count: WAITING,
        inFlight: IN_FLIGHT,
        reportFile: join(workDir, 'holder-report.json'),
      },
      DEADLINE_MS,
    );
    const held = holder.report;
    console.log(
      `waiting: ${fmt(WAITING)} instances waiting for an event` +
        (quick ? ' [quick: not 10,000]' : '') +
        `: rss ${fmt(held.rssBytes / MB)} MB, heap used ` +
        `${fmt(held.heapUsedBytes / MB)} MB (engine process, pid ${held.pid}, ` +
        `${held.gc ? 'after global.gc()' : 'no gc available'}; ` +
        `${fmt(held.idleRssBytes / MB)} MB before submitting); submitted ` +
        `in ${held.submitSec.toFixed(1)} s, all waiting after ` +
        `${held.allWaitingSec.toFixed(1)} s`,
    );

    await holder.kill();
    const resumed = await resumeAll({
      fixtures,
      dataDir,
      count: WAITING,
      inFlight: IN_FLIGHT,
      deadlineMs: DEADLINE_MS,
    });
    const { phases } = resumed;
    const perInstanceMs =
      ((phases.lastResumed - phases.firstResumed) * 1000) /
      Math.max(1, WAITING - 1);
    console.log(
      `resume: ${fmt(WAITING)} instances running again ` +
        `${phases.allRunning.toFixed(1)} s after createEngine began, ` +
        `in a new engine on the data folder of the SIGKILLed one`,
    );
    console.log(
      `resume, by phase (s from createEngine): store open ` +
        `${phases.storeOpen.toFixed(2)}, ${fmt(resumed.reapedJobs)} jobs ` +
        `marked interrupted ${phases.reaped.toFixed(2)}, first instance ` +
        `resumed ${phases.firstResumed.toFixed(2)}, last ` +
        `${phases.lastResumed.toFixed(2)}, engine ready ` +
        `${phases.engineReady.toFixed(2)}, all running ` +
        `${phases.allRunning.toFixed(2)}; ` +
        `${perInstanceMs.toFixed(2)} ms per instance, one after another`,
    );
    console.log(
      `resume check: ${GO_EVENT} sent to all ${fmt(WAITING)}, all ended done ` +
        `with their own params.i in ${resumed.goSec.toFixed(1)} s`,
    );

    console.log(
      JSON.stringify({
        instancesPerSec: Math.round(steps.first),
        nestedRatio: round(steps.ratio, 3),
        waiting10kRssMb: Math.round(held.rssBytes / MB),
        resume10kSec: round(phases.allRunning, 1),
      }),
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  // Exit outright: a stuck engine may still hold timers open.
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
}
