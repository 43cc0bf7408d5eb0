import type { NatsConnection } from 'nats';

import type { Engine } from '../../runtime/engine.js';
import {
  INTAKE_STREAM,
  jobStatusSubject,
} from '../../runtime/nats/subjects.js';
import { BenchFailure, encodeJson, verify } from './nats-request.js';
import { inWindow } from './stats.js';

const PAGE = 500;
const WINDOW_OF_DRIFT = 10_000;

export interface BacklogOptions {
  client: NatsConnection;
  /** Starts an engine on a store that holds no jobs yet. */
  startEngine(): Promise<Engine>;
  action: string;
  messages: number;
  publishWindow: number;
  /** Gives up when the backlog is not done by then. */
  deadlineMs: number;
}

export interface BacklogResult {
  publishPerSec: number;
  startupMs: number;
  /** Jobs done before createEngine resolved. */
  doneBeforeReady: number;
  /** From engine ready to the last job done. */
  seconds: number;
  perSec: number;
  /** Rate of the last 10,000 over rate of the first 10,000. */
  drift: number;
  storeJobs: number;
  storeDone: number;
  rssBytes: number;
}

/**
 * Work queued in the intake stream while no engine runs, then drained by
 * a fresh engine: how fast, and whether it slows down as it goes.
 */
export async function durableBacklog(
  options: BacklogOptions,
): Promise<BacklogResult> {
  const { client, messages } = options;
  verify(
    messages >= 2 * WINDOW_OF_DRIFT,
    `drift needs at least ${2 * WINDOW_OF_DRIFT} messages, got ${messages}`,
  );
  const jsm = await client.jetstreamManager();
  const before = (await jsm.streams.info(INTAKE_STREAM)).state.messages;
  verify(before === 0, `${INTAKE_STREAM} holds ${before} messages already`);

  const publishPerSec = await publishBacklog(options);
  const queued = (await jsm.streams.info(INTAKE_STREAM)).state.messages;
  verify(queued === messages, `${queued} of ${messages} messages queued`);

  const done = watchDone(client, messages);
  let engine: Engine | null = null;
  try {
    const start = performance.now();
    engine = await options.startEngine();
    const ready = performance.now();
    const doneBeforeReady = done.times.length;

    await untilDone(
      done.all,
      engine,
      options.deadlineMs,
      () => done.times.length,
    );
    const rssBytes = process.memoryUsage().rss;
    const { storeJobs, storeDone } = await countJobs(engine);

    const times = done.times;
    const seconds = (times[messages - 1]! - ready) / 1000;
    return {
      publishPerSec,
      startupMs: ready - start,
      doneBeforeReady,
      seconds,
      perSec: messages / seconds,
      drift:
        windowRate(times, messages - WINDOW_OF_DRIFT, ready) /
        windowRate(times, 0, ready),
      storeJobs,
      storeDone,
      rssBytes,
    };
  } finally {
    done.stop();
    await engine?.stop();
  }
}

async function publishBacklog(options: BacklogOptions): Promise<number> {
  const js = options.client.jetstream();
  const start = performance.now();
  await inWindow(options.messages, options.publishWindow, async (i) => {
    await js.publish(
      'wfe.intake.bench',
      encodeJson({ action: options.action, params: { i } }),
    );
  });
  return options.messages / ((performance.now() - start) / 1000);
}

interface DoneWatch {
  /** When each distinct job was first seen done, in order. */
  times: number[];
  all: Promise<void>;
  stop(): void;
}

/** Counts `done` events by job id, over plain NATS. */
function watchDone(client: NatsConnection, expected: number): DoneWatch {
  const seen = new Set<string>();
  const times: number[] = [];
  let finish: () => void = () => {};
  const all = new Promise<void>((resolve) => (finish = resolve));

  const sub = client.subscribe(jobStatusSubject('*', 'done'), {
    callback: (err, msg) => {
      if (err) return;
      // wfe.jobs.<id>.done
      const id = msg.subject.split('.')[2]!;
      if (seen.has(id)) return;
      seen.add(id);
      times.push(performance.now());
      if (times.length === expected) finish();
    },
  });
  return { times, all, stop: () => sub.unsubscribe() };
}

async function untilDone(
  all: Promise<void>,
  engine: Engine,
  deadlineMs: number,
  count: () => number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BenchFailure(`only ${count()} jobs done in ${deadlineMs} ms`),
        ),
      deadlineMs,
    );
  });
  try {
    await Promise.race([all, late, engine.failed]);
  } finally {
    clearTimeout(timer);
  }
}

/** Jobs per second over `WINDOW_OF_DRIFT` done events from `first`. */
function windowRate(times: number[], first: number, ready: number): number {
  const last = first + WINDOW_OF_DRIFT - 1;
  const from = first === 0 ? ready : times[first - 1]!;
  return WINDOW_OF_DRIFT / ((times[last]! - from) / 1000);
}

/** Every job in the store, page by page, newest first. */
async function countJobs(
  engine: Engine,
): Promise<{ storeJobs: number; storeDone: number }> {
  let storeJobs = 0;
  let storeDone = 0;
  let beforeId: string | undefined;
  for (;;) {
    const page = await engine.store.listJobs({ beforeId, limit: PAGE });
    storeJobs += page.length;
    storeDone += page.filter((job) => job.status === 'done').length;
    if (page.length < PAGE) return { storeJobs, storeDone };
    beforeId = page[page.length - 1]!.id;
  }
}
