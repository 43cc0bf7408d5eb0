import { performance } from 'node:perf_hooks';

export interface LoopMonitorOptions {
  /** A turn of the loop longer than this counts as a block. */
  thresholdMs: number;
  /** How often the monitor checks; lower catches shorter blocks. */
  intervalMs?: number;
  onBlock(blockedMs: number): void;
}

export interface LoopMonitor {
  stop(): void;
}

/**
 * Notices turns of the event loop that ran far longer than they should.
 * It measures real time on purpose: a blocked loop is a fact about this
 * process, not about the simulated clock that tests may use.
 */
export function startLoopMonitor(options: LoopMonitorOptions): LoopMonitor {
  const intervalMs =
    options.intervalMs ?? Math.max(10, options.thresholdMs / 4);
  let expected = performance.now() + intervalMs;

  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    expected = now + intervalMs;
    if (late >= options.thresholdMs) options.onBlock(Math.round(late));
  }, intervalMs);
  timer.unref();

  return { stop: () => clearInterval(timer) };
}
