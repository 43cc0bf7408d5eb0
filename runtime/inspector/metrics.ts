import { monitorEventLoopDelay } from 'node:perf_hooks';

import type { EngineIntrospection } from './introspect.js';
import type { Metrics } from './wire.js';

const RESOLUTION_MS = 10;

export interface MetricsSampler {
  current(): Metrics;
  stop(): void;
}

export interface SamplerOptions {
  intervalMs?: number;
  /** Points kept. @default 300 (five minutes at one a second) */
  points?: number;
  now(): number;
}

/**
 * Samples the engine once an interval. Everything it reads is a counter
 * the engine keeps anyway, so sampling costs the engine nothing per job.
 */
export function startMetrics(
  engine: EngineIntrospection,
  options: SamplerOptions,
): MetricsSampler {
  const intervalMs = options.intervalMs ?? 1000;
  const kept = options.points ?? 300;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const series: Metrics = {
    intervalMs,
    end: options.now(),
    jobsPerSec: [],
    loopDelayMs: [],
    mailboxes: {},
  };
  let finished = engine.jobCounts().finished;
  let last = performance.now();
  delay.enable();

  const push = (values: number[], value: number) => {
    values.push(value);
    if (values.length > kept) values.splice(0, values.length - kept);
  };

  const sample = () => {
    const now = performance.now();
    const counts = engine.jobCounts();
    const seconds = (now - last) / 1000;
    push(series.jobsPerSec, round((counts.finished - finished) / seconds));
    // The histogram counts the sampling timer's own period in each value.
    const p99 = delay.percentile(99) / 1e6 - RESOLUTION_MS;
    push(series.loopDelayMs, round(Math.max(0, p99)));
    finished = counts.finished;
    last = now;
    delay.reset();

    // A mailbox first seen now gets zeros before, so series line up.
    const length = series.jobsPerSec.length;
    for (const stats of engine.mailboxes()) {
      const values = (series.mailboxes[stats.name] ??= []);
      while (values.length < length - 1) values.push(0);
      push(values, stats.depth);
    }
    series.end = options.now();
  };

  const timer = setInterval(sample, intervalMs);
  timer.unref();

  return {
    current: () => series,
    stop: () => {
      clearInterval(timer);
      delay.disable();
    },
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
