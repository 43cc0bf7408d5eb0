import type { Bus, BusSubscription } from '../bus/types.js';
import {
  JOB_STATUSES,
  type JobLogEntry,
  type JobQuery,
  type JobRecord,
  type JobStatus,
  type Store,
} from '../drp/types.js';
import { WfeError } from '../errors.js';
import { describe, isPlainObject } from '../jobs/submission.js';
import { SUBJECTS } from './subjects.js';
import {
  INSTANCE_TYPE,
  instanceView,
  type InstanceRecord,
  type InstanceView,
} from '../workflows/snapshots.js';

export const MAX_PAGE = 500;
const DEFAULT_PAGE = 50;
const DEFAULT_LOG_LIMIT = 1000;

export interface JobDetails {
  job: JobRecord;
  /** The job and every job below it, parents before children. */
  tree: JobRecord[];
  logs: JobLogEntry[];
  /** For a workflow job: where its instance is and has been. */
  workflow?: InstanceView;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Pass as `before` for the next page; null on the last one. */
  next: string | null;
}

/** Serves `wfe.jobs.get` and `wfe.jobs.list` from the store. */
export function serveQueries(
  bus: Bus,
  store: Store,
  queue: string,
): BusSubscription[] {
  return [
    bus.serve(SUBJECTS.jobGet, (message) => getJob(store, message), {
      queue,
    }),
    bus.serve(SUBJECTS.jobList, (message) => listJobs(store, message), {
      queue,
    }),
  ];
}

export async function getJob(
  store: Store,
  message: unknown,
): Promise<JobDetails> {
  const request = asRequest(message);
  const id = text(request, 'id', true)!;
  const afterSeq = count(request, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
  const logLimit = count(request, 'logLimit', 1, 10_000);

  const job = await store.getJob(id);
  if (!job) throw new WfeError('NOT_FOUND', `no job ${id}`);

  const [tree, logs, object] = await Promise.all([
    store.jobTree(id),
    store.jobLogs(id, {
      afterSeq: afterSeq ?? 0,
      limit: logLimit ?? DEFAULT_LOG_LIMIT,
    }),
    store.getObject(id),
  ]);
  if (object?.type !== INSTANCE_TYPE) return { job, tree, logs };
  const workflow = instanceView(object.data as unknown as InstanceRecord);
  return { job, tree, logs, workflow };
}

export async function listJobs(
  store: Store,
  message: unknown,
): Promise<JobPage> {
  const request = asRequest(message);
  const status = text(request, 'status', false);
  if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
    throw badQuery(
      'status',
      `must be one of ${JOB_STATUSES.join(', ')}, got ${describe(status)}`,
    );
  }

  const limit = count(request, 'limit', 1, MAX_PAGE) ?? DEFAULT_PAGE;
  const query: JobQuery = {
    status: status as JobStatus | undefined,
    action: text(request, 'action', false),
    beforeId: text(request, 'before', false),
    // One more than asked tells whether another page follows.
    limit: limit + 1,
  };
  if (request.parentId !== undefined) {
    query.parentId =
      request.parentId === null ? null : text(request, 'parentId', true);
  }

  const found = await store.listJobs(query);
  const jobs = found.slice(0, limit);
  return {
    jobs,
    next: found.length > limit ? jobs[jobs.length - 1]!.id : null,
  };
}

function asRequest(message: unknown): Record<string, unknown> {
  if (!isPlainObject(message)) {
    throw badQuery('request', `must be an object, got ${describe(message)}`);
  }
  return message as Record<string, unknown>;
}

function text(
  request: Record<string, unknown>,
  field: string,
  required: boolean,
): string | undefined {
  const value = request[field];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw badQuery(field, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function count(
  request: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = request[field];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw badQuery(
      field,
      `must be a whole number from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return Math.min(value as number, max);
}

function badQuery(field: string, problem: string): WfeError {
  return new WfeError('BAD_QUERY', `${field} ${problem}`, {
    details: { field },
  });
}
