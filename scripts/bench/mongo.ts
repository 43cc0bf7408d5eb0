/**
 * The MongoDB benchmark (`npm run bench:mongo`): what the DRP writer's
 * batching buys against MongoDB, and end-to-end actions per second with
 * the DRP in MongoDB against SQLite. One server (WFE_MONGODB_URL, else a
 * FerretDB of its own) serves the whole run; each measurement has a fresh
 * database. Prints one line per figure, then a last line that is exactly
 * a JSON object. `BENCH_QUICK=1` shrinks every workload.
 */
import { MongoClient } from 'mongodb';

import { startMongoForTests } from '../services/mongo.js';
import { actionRounds } from './mongo-actions.js';
import { mongoBatching } from './mongo-batching.js';
import { fmt, machineLine, round, within } from './stats.js';

const quick = process.env.BENCH_QUICK === '1';
const scale = (n: number) => (quick ? Math.ceil(n / 10) : n);
const IN_FLIGHT = 100;
// Far beyond what a measurement takes: only a stuck server reaches it.
const DEADLINE_MS = 90_000;

let databasesMade = 0;

/** A database of this run's own, so runs sharing a server never meet. */
function freshDatabase(): string {
  databasesMade += 1;
  return `wfe_bench_${process.pid}_${databasesMade}`;
}

/** "MongoDB 7.0.42 (FerretDB v1.24.2)": which server the figures are of. */
async function serverLine(client: MongoClient): Promise<string> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  const ferretDb = info.ferretdbVersion as string | undefined;
  const external = process.env.WFE_MONGODB_URL ? ', WFE_MONGODB_URL' : '';
  return (
    `server: MongoDB ${String(info.version)}` +
    (ferretDb ? ` (FerretDB ${ferretDb})` : '') +
    external
  );
}

async function main(): Promise<void> {
  console.log(machineLine(quick));

  const server = await startMongoForTests();
  const client = new MongoClient(server.url, { appName: 'wfe bench' });
  try {
    console.log(await serverLine(client));

    const batching = await within(
      DEADLINE_MS,
      'the batching measurement',
      mongoBatching({
        client,
        url: server.url,
        freshDatabase,
        count: scale(300),
      }),
    );
    console.log(
      `writer: batched ${fmt(batching.batchedPerSec)} writes/s ` +
        '(drpWriterMachine, maxBatch 512, all sent at once), one driver ' +
        `call per write ${fmt(batching.oneByOnePerSec)} writes/s ` +
        '(insertOne, replaceOne or updateOne, each awaited); per job: put ' +
        'waiting and done, a machine created and updated, two log lines; ' +
        `ratio ${batching.ratio.toFixed(1)} ` +
        '(target >= 5)',
    );
    console.log(
      `writer, by phase: creating (every write an insert) ratio ` +
        `${batching.createRatio.toFixed(1)}, updating (a job replaced and ` +
        `an object updated per log line) ratio ${batching.updateRatio.toFixed(1)}`,
    );

    const actions = await actionRounds({
      client,
      url: server.url,
      freshDatabase,
      rounds: 3,
      run: { actions: scale(1_000), warmUp: scale(100), inFlight: IN_FLIGHT },
      deadlineMs: DEADLINE_MS,
    });
    console.log(
      `engine: ${fmt(actions.mongoPerSec)} actions/s (median) end to end ` +
        `with the DRP in MongoDB, ${fmt(actions.sqlitePerSec)} with SQLite ` +
        `FULL, ${IN_FLIGHT} in flight; median ratio ` +
        `${actions.ratio.toFixed(3)}`,
    );

    console.log(
      JSON.stringify({
        batchingRatio: round(batching.ratio, 1),
        actionsPerSec: Math.round(actions.mongoPerSec),
        sqliteRatio: round(actions.ratio, 3),
        createBatchingRatio: round(batching.createRatio, 1),
        updateBatchingRatio: round(batching.updateRatio, 1),
        sqlitePerSec: Math.round(actions.sqlitePerSec),
        batchedPerSec: Math.round(batching.batchedPerSec),
        oneByOnePerSec: Math.round(batching.oneByOnePerSec),
      }),
    );
  } finally {
    await client.close();
    await server.stop();
  }
}

try {
  await main();
} catch (err) {
  // Exit outright: a stuck server may still hold sockets open.
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
}
