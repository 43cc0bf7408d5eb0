/**
 * The NATS benchmark (`npm run bench:nats`): what `wfe.submit` keeps of
 * raw NATS request/reply, and how a durable intake backlog drains. Prints
 * one line per figure, then a last line that is exactly a JSON object.
 * `BENCH_QUICK=1` shrinks every workload, for trying the script out.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import { connect } from 'nats';

import { createEngine, type Engine } from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';
import { startNatsServer } from '../services/nats-server.js';
import { durableBacklog } from './nats-backlog.js';
import {
  BenchFailure,
  rawRequestsPerSec,
  submitsPerSec,
  verify,
} from './nats-request.js';
import { fmt, machineLine, round } from './stats.js';

const quick = process.env.BENCH_QUICK === '1';
const scale = (n: number) => (quick ? Math.ceil(n / 10) : n);
const ACTION = 'bench.noop';
const IN_FLIGHT = 100;
const ROUNDS = 3;
// Drift compares the first and last 10,000: at least 20,000 even quick.
const BACKLOG = quick ? 20_000 : 50_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A tasklet root with one RO action, `bench.noop`, returning null. */
async function noopRoot(dir: string): Promise<string> {
  const actionDir = join(dir, 'rootobject', 'bench', 'noop');
  await mkdir(actionDir, { recursive: true });
  await writeFile(
    join(actionDir, 'main.mjs'),
    'export function main() { return null }\n',
  );
  return dir;
}

async function main(): Promise<void> {
  console.log(machineLine(quick));

  const workDir = await mkdtemp(join(os.tmpdir(), 'wfe-bench-nats-'));
  const server = await startNatsServer();
  const client = await connect({ servers: server.url, name: 'bench client' });
  try {
    const root = await noopRoot(join(workDir, 'tasklets'));
    const startEngine = (data: string): Promise<Engine> =>
      createEngine({
        taskletRoots: [root],
        dataDir: join(workDir, data),
        nats: { url: server.url },
        logger: silentLogger(),
      });

    // Raw and wfe alternate over a few rounds, and the median round is
    // the figure: on a shared machine either can catch a slow second.
    const submitEngine = await startEngine('submit-data');
    const rounds: Array<{ raw: number; submit: number }> = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const raw = await rawRequestsPerSec(server.url, {
          requests: scale(20_000),
          warmUp: scale(2_000),
          inFlight: IN_FLIGHT,
        });
        const submit = await submitsPerSec(client, ACTION, {
          requests: scale(10_000),
          warmUp: scale(1_000),
          inFlight: IN_FLIGHT,
        });
        rounds.push({ raw, submit });
        console.log(
          `round ${round}: raw nats ${fmt(raw)} requests/s, wfe.submit ` +
            `${fmt(submit)} jobs/s, ratio ${(submit / raw).toFixed(2)}`,
        );
      }
    } finally {
      await submitEngine.stop();
    }

    const rawPerSec = median(rounds.map((r) => r.raw));
    const submitPerSec = median(rounds.map((r) => r.submit));
    const submitRatio = median(rounds.map((r) => r.submit / r.raw));
    console.log(
      `raw nats: ${fmt(rawPerSec)} requests/s (median), JSON echo, ` +
        `${IN_FLIGHT} in flight, two connections`,
    );
    console.log(
      `wfe.submit: ${fmt(submitPerSec)} jobs/s (median) with wait, no-op ` +
        `action, ${IN_FLIGHT} in flight, SQLite FULL; median ratio to raw ` +
        `${submitRatio.toFixed(2)} (target >= 0.3)`,
    );

    const backlog = await durableBacklog({
      client,
      startEngine: () => startEngine('backlog-data'),
      action: ACTION,
      messages: BACKLOG,
      publishWindow: 1_000,
      deadlineMs: 150_000,
    });
    console.log(
      `intake publish: ${fmt(backlog.publishPerSec)} messages/s ` +
        `(js.publish, 1,000 in flight, no engine running)`,
    );
    console.log(
      `backlog: ${fmt(BACKLOG)} jobs done in ${backlog.seconds.toFixed(1)} s ` +
        `from engine ready, ${fmt(backlog.perSec)} jobs/s; engine start ` +
        `${fmt(backlog.startupMs)} ms, ${fmt(backlog.doneBeforeReady)} ` +
        `done before ready`,
    );
    console.log(
      `backlog drift: ${backlog.drift.toFixed(2)} ` +
        `(last 10,000 / first 10,000, target ~>= 0.8)`,
    );
    console.log(
      `engine rss after backlog: ${fmt(backlog.rssBytes / 2 ** 20)} MiB ` +
        `(bench process: engine and client)`,
    );
    const storeOk =
      backlog.storeJobs === BACKLOG && backlog.storeDone === BACKLOG;
    console.log(
      `store check: ${fmt(backlog.storeJobs)} jobs, ` +
        `${fmt(backlog.storeDone)} done, expected ${fmt(BACKLOG)}: ` +
        (storeOk ? 'ok' : 'FAILED'),
    );
    verify(storeOk, 'the store does not hold exactly one job per message');

    console.log(
      JSON.stringify({
        submitRatio: round(submitRatio),
        submitPerSec: Math.round(submitPerSec),
        backlogPerSec: Math.round(backlog.perSec),
        backlogDrift: round(backlog.drift),
      }),
    );
  } finally {
    await client.close();
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof BenchFailure)) throw err;
  console.error(`bench check failed: ${err.message}`);
  process.exitCode = 1;
}
