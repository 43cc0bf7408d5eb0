import type { EngineRole } from '../engine.js';
import type { EngineIntrospection } from './introspect.js';
import type { MetricsSampler } from './metrics.js';
import type { EventStream } from './sse.js';
import type { Overview } from './wire.js';

export interface OverviewSource {
  owner: string;
  role: EngineRole;
  store: { kind: string; location?: string };
  version: string;
  introspection: EngineIntrospection;
  metrics: MetricsSampler;
  now(): number;
}

export function overviewOf(source: OverviewSource): Overview {
  const { introspection } = source;
  return {
    engine: {
      owner: source.owner,
      role: source.role,
      store: source.store,
      startedAt: introspection.startedAt,
      now: source.now(),
      version: source.version,
    },
    actors: introspection.actorTree(),
    agents: introspection.agents(),
    jobs: introspection.jobCounts(),
    metrics: source.metrics.current(),
  };
}

/**
 * The system view's live feed: one overview a tick, built and encoded
 * once for every open page, and a `jobs` event when jobs changed, so
 * that a page showing a list refetches it. Nothing runs without pages.
 */
export class OverviewFeed {
  readonly #source: OverviewSource;
  readonly #streams = new Set<EventStream>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #activity = -1;

  constructor(source: OverviewSource, intervalMs = 1000) {
    this.#source = source;
    this.#intervalMs = intervalMs;
  }

  get clients(): number {
    return this.#streams.size;
  }

  add(stream: EventStream): void {
    this.#streams.add(stream);
    stream.send('overview', overviewOf(this.#source));
    stream.signal.addEventListener('abort', () => {
      this.#streams.delete(stream);
      if (this.#streams.size === 0) this.#stopTicking();
    });
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
  }

  close(): void {
    this.#stopTicking();
    for (const stream of this.#streams) stream.close();
  }

  #tick(): void {
    const json = JSON.stringify(overviewOf(this.#source));
    const activity = this.#source.introspection.activity();
    const changed = activity !== this.#activity;
    this.#activity = activity;
    const jobs = JSON.stringify({ activity });

    for (const stream of this.#streams) {
      if (stream.congested) continue;
      stream.sendRaw('overview', json);
      if (changed) stream.sendRaw('jobs', jobs);
    }
  }

  #stopTicking(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
