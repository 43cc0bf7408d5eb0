import type { NatsBus } from '../bus/nats.js';
import type { Bus } from '../bus/types.js';
import { isFinished, type JobLogEntry, type JobStatus } from '../drp/types.js';
import type { JobEvent } from '../nats/events.js';
import { ALL_JOB_EVENTS } from '../nats/subjects.js';
import type { CliIo } from './io.js';
import { jobViewOverNats, logsAfter } from './jobs-nats.js';
import { describeJob, formatDuration } from './jobs-show.js';
import { stopRequested } from './stop.js';

/** What `show --follow` returns when stopped before the job ended. */
export const INTERRUPTED = 130;

/** A message on `wfe.jobs.<id>.<what>`, as the engines publish it. */
type JobMessage =
  | { kind: 'status'; job: JobEvent }
  | { kind: 'log'; jobId: string; entries: JobLogEntry[] };

/**
 * `wfe jobs show <id> --follow`: prints the job as it is, then every
 * change in its tree until the job itself ends.
 */
export async function followJob(
  bus: Bus,
  id: string,
  io: CliIo,
): Promise<number> {
  // Subscribing before reading means no change falls between the two;
  // what arrives meanwhile waits in `early` and is deduplicated.
  const early: JobMessage[] = [];
  let handle = (message: JobMessage) => void early.push(message);
  const subscription = bus.subscribe(ALL_JOB_EVENTS, (message, subject) => {
    const parsed = parseJobMessage(subject, message);
    if (parsed) handle(parsed);
  });
  const stop = stopRequested(io);

  try {
    const view = await jobViewOverNats(bus, id);
    io.stdout(describeJob(view));
    if (isFinished(view.job.status)) return exitCode(view.job.status);

    const tree = new TreeState(view.tree, view.logs);
    let ended: (status: JobEvent['status']) => void = () => {};
    const end = new Promise<JobEvent['status']>((resolve) => (ended = resolve));
    const print = (message: JobMessage) => {
      for (const line of tree.take(message)) io.stdout(line);
    };
    handle = (message) => {
      print(message);
      if (message.kind === 'status' && message.job.id === id) {
        if (isFinished(message.job.status)) ended(message.job.status);
      }
    };
    for (const message of early.splice(0)) handle(message);

    const outcome = await Promise.race([end, stop.promise.then(() => null)]);
    if (outcome === null) {
      io.stderr(`wfe: stopped following job ${id}; it has not ended\n`);
      return INTERRUPTED;
    }

    // Log lines stored just before the end may still be on their way.
    subscription.unsubscribe();
    for (const member of tree.ids()) {
      const missed = await logsAfter(bus, member, tree.lastSeq(member));
      print({ kind: 'log', jobId: member, entries: missed });
    }
    return exitCode(outcome);
  } finally {
    stop.dispose();
    subscription.unsubscribe();
  }
}

/** `wfe jobs --follow`: every event of every job until stopped. */
export async function followAllJobs(bus: NatsBus, io: CliIo): Promise<number> {
  const actions = new Map<string, string>();
  const stop = stopRequested(io);
  const subscription = bus.subscribe(ALL_JOB_EVENTS, (message, subject) => {
    const parsed = parseJobMessage(subject, message);
    if (!parsed) return;
    if (parsed.kind === 'status') {
      actions.set(parsed.job.id, parsed.job.action);
      if (isFinished(parsed.job.status)) actions.delete(parsed.job.id);
      io.stdout(statusLine(parsed.job));
    } else {
      const action = actions.get(parsed.jobId) ?? '-';
      for (const entry of parsed.entries) io.stdout(logLine(entry, action));
    }
  });

  try {
    // Once the server has the subscription, no later event is missed.
    await bus.connection.flush();
    io.stderr('following every job; stop with Ctrl-C\n');
    await stop.promise;
    return 0;
  } finally {
    stop.dispose();
    subscription.unsubscribe();
  }
}

/** The jobs of one tree: who belongs, and what was already printed. */
class TreeState {
  readonly #actions = new Map<string, string>();
  readonly #statuses = new Map<string, JobStatus>();
  readonly #lastSeq = new Map<string, number>();

  constructor(
    jobs: readonly JobEvent[],
    logs: ReadonlyMap<string, JobLogEntry[]>,
  ) {
    for (const job of jobs) {
      this.#actions.set(job.id, job.action);
      this.#statuses.set(job.id, job.status);
      this.#lastSeq.set(job.id, logs.get(job.id)?.at(-1)?.seq ?? 0);
    }
  }

  ids(): string[] {
    return [...this.#actions.keys()];
  }

  lastSeq(id: string): number {
    return this.#lastSeq.get(id) ?? 0;
  }

  /** The lines a message adds, if it concerns this tree and is news. */
  take(message: JobMessage): string[] {
    if (message.kind === 'status') {
      const { job } = message;
      const known = this.#actions.has(job.id);
      if (!known && !this.#actions.has(job.parentId ?? '')) return [];
      const before = this.#statuses.get(job.id);
      // Events can overtake the first read; a finished job stays so.
      if (before === job.status || (before !== undefined && isFinished(before)))
        return [];

      if (!known) this.#lastSeq.set(job.id, 0);
      this.#actions.set(job.id, job.action);
      this.#statuses.set(job.id, job.status);
      return [statusLine(job)];
    }

    const action = this.#actions.get(message.jobId);
    if (action === undefined) return [];
    const lines: string[] = [];
    for (const entry of message.entries) {
      if (entry.seq <= this.lastSeq(message.jobId)) continue;
      this.#lastSeq.set(message.jobId, entry.seq);
      lines.push(logLine(entry, action));
    }
    return lines;
  }
}

function parseJobMessage(subject: string, message: unknown): JobMessage | null {
  const what = subject.split('.')[3];
  if (typeof message !== 'object' || message === null) return null;
  if (what === 'log') {
    const { jobId, entries } = message as {
      jobId?: unknown;
      entries?: unknown;
    };
    if (typeof jobId !== 'string' || !Array.isArray(entries)) return null;
    return { kind: 'log', jobId, entries: entries as JobLogEntry[] };
  }
  const job = message as JobEvent;
  return typeof job.id === 'string' ? { kind: 'status', job } : null;
}

function statusLine(job: JobEvent): string {
  const at =
    job.status === 'waiting'
      ? job.createdAt
      : job.status === 'running'
        ? job.startedAt
        : job.endedAt;
  let outcome = '';
  if (job.error) outcome = `  ${job.error.code}: ${job.error.message}`;
  else if (job.status === 'done') outcome = `  ${formatDuration(job)}`;
  return `${time(at)}  ${job.id}  ${job.action}  ${job.status}${outcome}\n`;
}

function logLine(entry: JobLogEntry, action: string): string {
  const data = entry.data === undefined ? '' : ` ${JSON.stringify(entry.data)}`;
  return (
    `${time(entry.at)}  ${entry.jobId}  ${action}  ` +
    `${entry.level} ${entry.message.trimEnd()}${data}\n`
  );
}

function time(at: number | null): string {
  return new Date(at ?? Date.now()).toISOString();
}

function exitCode(status: JobEvent['status']): number {
  return status === 'done' ? 0 : 1;
}
