/** Small measuring helpers shared by the benchmarks. */
import os from 'node:os';

/** The first line a benchmark prints: what it ran on. */
export function machineLine(quick: boolean): string {
  const cpus = os.cpus();
  return (
    `machine: ${cpus.length} cpus (${cpus[0]?.model.trim() ?? 'unknown'}), ` +
    `node ${process.version}, ${process.platform} ${process.arch}` +
    (quick ? ' [quick]' : '')
  );
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Two rates measured in one round, and the medians over all rounds. */
export interface PairedRates {
  first: number;
  second: number;
  /** The median of the rounds' first / second ratios. */
  ratio: number;
}

/**
 * Runs `round` for 1..`rounds`, each measuring two rates in turn; the
 * median round is the figure, since on a shared machine either
 * measurement can catch a slow second.
 */
export async function medianRounds(
  rounds: number,
  round: (n: number) => Promise<{ first: number; second: number }>,
): Promise<PairedRates> {
  const measured: Array<{ first: number; second: number }> = [];
  for (let n = 1; n <= rounds; n++) measured.push(await round(n));
  return {
    first: median(measured.map((r) => r.first)),
    second: median(measured.map((r) => r.second)),
    ratio: median(measured.map((r) => r.first / r.second)),
  };
}

/** Runs `work` and returns how many `count` units it did per second. */
export async function ratePerSec(
  count: number,
  work: () => Promise<void>,
): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

/** Calls `work(i)` for i in [0, total), keeping `window` calls in flight. */
export async function inWindow(
  total: number,
  window: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, total) }, lane));
}

/** Ends the process with a message when a benchmark's own check fails. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    console.error(`bench check failed: ${message}`);
    process.exit(1);
  }
}

/** 12345.6 -> "12,346". */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function round(n: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

/** Lets queued microtasks, timers and I/O callbacks run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits for `work`, failing with a message that names `what` once it has
 * taken `ms`: a benchmark stuck on its server must say so, not hang.
 */
export async function within<T>(
  ms: number,
  what: string,
  work: Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    const message = `${what} did not finish within ${ms / 1000} s`;
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
