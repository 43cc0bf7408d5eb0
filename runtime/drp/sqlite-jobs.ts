import type { ErrorInfo } from '../errors.js';
import type { JobQuery, JobRecord, JobStatus } from './types.js';
import { toJson } from './write-checks.js';

/** How a job is kept in the SQLite `jobs` table, and back. */

export interface JobRow {
  id: string;
  parent_id: string | null;
  root_id: string;
  action: string;
  target: string | null;
  status: string;
  params: string;
  result: string | null;
  error: string | null;
  max_duration_ms: number | null;
  idempotency_key: string | null;
  owner: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
}

const COLUMNS = [
  'id',
  'parent_id',
  'root_id',
  'action',
  'target',
  'status',
  'params',
  'result',
  'error',
  'max_duration_ms',
  'idempotency_key',
  'owner',
  'created_at',
  'started_at',
  'ended_at',
];

/** Inserts a job, or overwrites every column of the job with its id. */
export const UPSERT_JOB_SQL = `
  INSERT INTO jobs (${COLUMNS.join(', ')})
  VALUES (${COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (id) DO UPDATE SET
  ${COLUMNS.slice(1)
    .map((column) => `${column} = excluded.${column}`)
    .join(', ')}`;

/**
 * The values for UPSERT_JOB_SQL, in column order. Encodes the JSON
 * fields, so a job that cannot be stored fails (BAD_WRITE) before any
 * statement runs.
 */
export function jobRowValues(job: JobRecord): unknown[] {
  const what = `job ${job.id}`;
  const params = toJson(job.params, `${what} params`);
  const result =
    job.result === undefined ? null : toJson(job.result, `${what} result`);
  const error = job.error === null ? null : toJson(job.error, `${what} error`);

  return [
    job.id,
    job.parentId,
    job.rootId,
    job.action,
    job.target,
    job.status,
    params,
    result,
    error,
    job.maxDurationMs,
    job.idempotencyKey,
    job.owner,
    job.createdAt,
    job.startedAt,
    job.endedAt,
  ];
}

export function toJob(row: JobRow): JobRecord {
  return {
    id: row.id,
    parentId: row.parent_id,
    rootId: row.root_id,
    action: row.action,
    target: row.target,
    params: JSON.parse(row.params) as Record<string, unknown>,
    status: row.status as JobStatus,
    // NULL means no result at all; a JSON null result is the text 'null'.
    result: row.result === null ? undefined : JSON.parse(row.result),
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorInfo),
    maxDurationMs: row.max_duration_ms,
    idempotencyKey: row.idempotency_key,
    owner: row.owner,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

/** The WHERE conditions and their parameters for a job listing. */
export function jobConditions(query: JobQuery): {
  where: string[];
  params: unknown[];
} {
  const where: string[] = [];
  const params: unknown[] = [];
  const equal = (column: string, value: unknown) => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    params.push(value);
  };

  equal('status', query.status);
  equal('owner', query.owner);
  equal('action', query.action);
  if (query.parentId === null) where.push('parent_id IS NULL');
  else equal('parent_id', query.parentId);
  if (query.beforeId !== undefined) {
    where.push('id < ?');
    params.push(query.beforeId);
  }
  return { where, params };
}
