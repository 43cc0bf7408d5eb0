/**
 * The inspector benchmark (`npm run bench:inspector`): the core bench's
 * no-op actions per second on one engine serving the inspector, with no
 * page open and with three pages following the live feed (in their own
 * process, as browsers would be), in alternating rounds. Prints one line
 * per figure, then a last line that is exactly a JSON object.
 * `BENCH_QUICK=1` shrinks the workload.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { createEngine, type Engine } from '../../runtime/engine.js';
import { startInspector } from '../../runtime/inspector/server.js';
import { engineTarget } from '../../runtime/inspector/target.js';
import { silentLogger } from '../../runtime/log.js';
import { noopRoot, runActions } from './engine-actions.js';
import { check, fmt, machineLine, median, ratePerSec, round } from './stats.js';

const quick = process.env.BENCH_QUICK === '1';
// Long enough that each measured round spans several feed ticks.
const ACTIONS = quick ? 20_000 : 60_000;
const IN_FLIGHT = 100;
const ROUNDS = 5;
const CLIENTS = 3;
const NOOP = { action: 'bench.noop', result: 1 };

interface ClientTotals {
  overviews: number;
  jobsEvents: number;
  listFetches: number;
  bytes: number;
}

async function main(): Promise<void> {
  console.log(machineLine(quick));

  const workDir = await mkdtemp(join(os.tmpdir(), 'wfe-bench-inspector-'));
  const engine = await createEngine({
    dataDir: join(workDir, 'data'),
    logger: silentLogger(),
    taskletRoots: [await noopRoot(join(workDir, 'tasklets'))],
  });
  const inspector = await startInspector({
    target: engineTarget(engine),
    port: 0,
    version: 'bench',
  });
  const base = new URL(inspector.url).origin;

  try {
    await runActions(engine, ACTIONS / 10, IN_FLIGHT, NOOP);
    const without: number[] = [];
    const withPages: number[] = [];
    const received: ClientTotals[] = [];

    for (let n = 0; n < ROUNDS; n++) {
      // Alternate the order: the store grows, so later runs are slower.
      const order = n % 2 === 0 ? [false, true] : [true, false];
      for (const pagesOpen of order) {
        if (!pagesOpen) {
          without.push(await measure(engine));
          continue;
        }
        const pages = await openPages(base, CLIENTS);
        check(inspector.clients() === CLIENTS, 'all pages are connected');
        withPages.push(await measure(engine));
        received.push(await closePages(pages));
      }
    }

    const ratios = withPages.map((rate, i) => rate / without[i]!);
    const ratio = median(ratios);
    const got = sum(received);
    check(got.overviews > 0 && got.listFetches > 0, 'the pages got updates');

    console.log(
      `engine: ${fmt(median(without))} actions/s with no page open, ` +
        `${fmt(median(withPages))} with ${CLIENTS} pages following the ` +
        `live feed (${IN_FLIGHT} in flight, ${fmt(ACTIONS)} per round, ` +
        `median of ${ROUNDS} alternating rounds)`,
    );
    console.log(
      `pages: ${got.overviews} overviews and ${got.listFetches} job list ` +
        `fetches in all, ${fmt(got.bytes / 1024)} KiB of feed`,
    );
    console.log(
      `ratio: ${ratio.toFixed(3)} (rounds ` +
        `${ratios.map((r) => r.toFixed(3)).join(', ')}; target >= 0.9)`,
    );
    console.log(JSON.stringify({ inspectorRatio: round(ratio, 3) }));
  } finally {
    await inspector.close();
    await engine.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

function measure(engine: Engine): Promise<number> {
  return ratePerSec(ACTIONS, () =>
    runActions(engine, ACTIONS, IN_FLIGHT, NOOP),
  );
}

interface Pages {
  child: ChildProcess;
  nextLine(): Promise<string>;
}

async function openPages(base: string, count: number): Promise<Pages> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(
    process.execPath,
    [join(here, 'inspector-clients.js'), base, String(count)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[
    Symbol.asyncIterator
  ]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the inspector clients ended early');
    return line.value;
  };
  check((await nextLine()) === 'ready', 'the inspector clients connected');
  return { child, nextLine };
}

async function closePages(pages: Pages): Promise<ClientTotals> {
  pages.child.kill('SIGTERM');
  return JSON.parse(await pages.nextLine()) as ClientTotals;
}

function sum(totals: ClientTotals[]): ClientTotals {
  return totals.reduce((all, one) => ({
    overviews: all.overviews + one.overviews,
    jobsEvents: all.jobsEvents + one.jobsEvents,
    listFetches: all.listFetches + one.listFetches,
    bytes: all.bytes + one.bytes,
  }));
}

await main();
