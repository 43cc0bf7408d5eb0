/**
 * The core benchmark (`npm run bench:core`): mailbox overhead, end-to-end
 * actions per second, and what the DRP writer's batching buys. Prints one
 * line per figure, then a last line that is exactly a JSON object.
 * `BENCH_QUICK=1` shrinks every workload, for trying the script out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import { engineActions } from './engine-actions.js';
import { mailboxRatio } from './mailbox-ratio.js';
import { fmt, machineLine, round } from './stats.js';
import { writerBatching } from './writer-batching.js';

const quick = process.env.BENCH_QUICK === '1';
const scale = (n: number) => (quick ? Math.ceil(n / 10) : n);

async function main(): Promise<void> {
  console.log(machineLine(quick));

  const workDir = await mkdtemp(join(os.tmpdir(), 'wfe-bench-'));
  try {
    const mailbox = await mailboxRatio({
      events: scale(1_000_000),
      rounds: 3,
      capacity: 1024,
    });
    console.log(
      `mailbox: direct send ${fmt(mailbox.directPerSec)} events/s, ` +
        `via Mailbox(1024, wait) ${fmt(mailbox.mailboxPerSec)} events/s, ` +
        `ratio ${mailbox.ratio.toFixed(2)} (target >= 0.8)`,
    );

    const actions = await engineActions({
      workDir: join(workDir, 'engine'),
      actions: scale(20_000),
      warmUp: scale(1_000),
      inFlight: 100,
    });
    const highWater = actions.mailboxes
      .map((m) => `${m.name} ${m.highWater}/${m.capacity}`)
      .join(', ');
    console.log(
      `engine: ${fmt(actions.actionsPerSec)} actions/s end to end, ` +
        `100 in flight, SQLite FULL (target >= 5,000); ` +
        `mailbox high water: ${highWater}`,
    );

    const batching = await writerBatching({
      workDir: join(workDir, 'writer'),
      batchedWrites: scale(20_000),
      unbatchedWrites: scale(5_000),
    });
    console.log(
      `writer: batched ${fmt(batching.batchedPerSec)} writes/s, ` +
        `one commit per write ${fmt(batching.unbatchedPerSec)} writes/s, ` +
        `ratio ${batching.ratio.toFixed(1)} (target >= 5)`,
    );

    console.log(
      JSON.stringify({
        mailboxRatio: round(mailbox.ratio),
        actionsPerSec: Math.round(actions.actionsPerSec),
        batchingRatio: round(batching.ratio, 1),
      }),
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
