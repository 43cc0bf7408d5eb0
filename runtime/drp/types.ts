import type { ErrorInfo } from '../errors.js';

/** A typed domain document. `version` increases by one on every save. */
export interface RootObject {
  guid: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export const JOB_STATUSES = [
  'waiting',
  'running',
  'done',
  'error',
  'cancelled',
  'lost',
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export function isFinished(status: JobStatus): boolean {
  return status !== 'waiting' && status !== 'running';
}

export interface JobRecord {
  id: string;
  /** The calling job, or null for a top-level submission. */
  parentId: string | null;
  /** The top of this job's tree; equals `id` for a top-level job. */
  rootId: string;
  action: string;
  /** The root object guid the action works on, when there is one. */
  target: string | null;
  params: Record<string, unknown>;
  status: JobStatus;
  result: unknown;
  error: ErrorInfo | null;
  maxDurationMs: number | null;
  /**
   * A caller's key for this submission: a second submission with the
   * same key gets this job instead of a new one. Unique across jobs.
   */
  idempotencyKey: string | null;
  /** The engine process that runs or ran the job. */
  owner: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JobLogEntry {
  jobId: string;
  /** Position in the job's log, from 1, with no gaps. */
  seq: number;
  at: number;
  level: LogLevel;
  message: string;
  data?: unknown;
}

/**
 * One write, as the drp-writer receives it. Saves of root objects carry
 * the version the writer expects to find: `0` means "must not exist yet".
 */
export type Write =
  | {
      kind: 'object.save';
      guid: string;
      type: string;
      data: Record<string, unknown>;
      expectedVersion: number;
      at: number;
    }
  | { kind: 'object.delete'; guid: string; expectedVersion: number }
  | { kind: 'job.put'; job: JobRecord }
  | { kind: 'log.append'; entries: JobLogEntry[] };

/**
 * What one write in a batch came to; a failed write fails only itself.
 * A `job.put` whose idempotency key belongs to another job fails with
 * DUPLICATE, and its error details carry that job's `jobId`.
 */
export type WriteOutcome =
  { ok: true; object?: RootObject } | { ok: false; error: ErrorInfo };

export interface ObjectQuery {
  type?: string;
  limit?: number;
  /** Guids sort ascending; pass the last guid of a page for the next. */
  afterGuid?: string;
}

export interface JobQuery {
  status?: JobStatus;
  owner?: string;
  action?: string;
  parentId?: string | null;
  /** Newest first; pass the last id of a page for the next. */
  beforeId?: string;
  limit?: number;
}

export interface LogQuery {
  afterSeq?: number;
  limit?: number;
}

/**
 * The DRP store. Writes arrive only from the drp-writer, in batches; reads
 * come from anywhere. `commit` resolves once the whole batch is durable.
 */
export interface Store {
  readonly kind: string;
  /** Where it keeps its data, safe to log (no password). */
  readonly location?: string;
  commit(writes: readonly Write[]): Promise<WriteOutcome[]>;
  getObject(guid: string): Promise<RootObject | null>;
  findObjects(query?: ObjectQuery): Promise<RootObject[]>;
  getJob(id: string): Promise<JobRecord | null>;
  getJobByKey(idempotencyKey: string): Promise<JobRecord | null>;
  listJobs(query?: JobQuery): Promise<JobRecord[]>;
  /** A job and every job below it, parents before children. */
  jobTree(id: string): Promise<JobRecord[]>;
  jobLogs(jobId: string, query?: LogQuery): Promise<JobLogEntry[]>;
  close(): Promise<void>;
}
