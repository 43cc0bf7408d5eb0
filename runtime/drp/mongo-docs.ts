import { BSON } from 'mongodb';

import type { ErrorInfo } from '../errors.js';
import type { JobLogEntry, JobRecord, JobStatus, RootObject } from './types.js';
import { badWrite, toJson } from './write-checks.js';

/**
 * How records are kept as MongoDB documents, and back. Stored values go
 * through JSON first, so that MongoDB keeps exactly what SQLite keeps
 * (no Dates, no undefined, no NaN), and are then checked against what
 * MongoDB refuses, so that such a write fails alone with BAD_WRITE
 * instead of failing on the server.
 */

/** MongoDB's largest document. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** MongoDB's deepest nesting of documents and arrays. */
const MAX_DEPTH = 100;

export interface ObjectDoc {
  _id: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** The write that last changed it, so a retried write knows itself. */
  lastWrite: string;
}

export interface JobDoc {
  _id: string;
  parentId: string | null;
  rootId: string;
  action: string;
  target: string | null;
  params: Record<string, unknown>;
  status: string;
  /** Absent when the job has no result; null is a result. */
  result?: unknown;
  error: ErrorInfo | null;
  maxDurationMs: number | null;
  /** Absent, not null, without a key: the unique index skips it then. */
  idempotencyKey?: string;
  owner: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface LogDoc {
  _id: string;
  jobId: string;
  seq: number;
  at: number;
  level: string;
  message: string;
  data?: unknown;
}

export function jobDoc(job: JobRecord): JobDoc {
  const what = `job ${job.id}`;
  const doc: JobDoc = {
    _id: job.id,
    parentId: job.parentId,
    rootId: job.rootId,
    action: job.action,
    target: job.target,
    params: storable(job.params, `${what} params`),
    status: job.status,
    error: job.error === null ? null : storable(job.error, `${what} error`),
    maxDurationMs: job.maxDurationMs,
    owner: job.owner,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
  };
  if (job.result !== undefined) {
    doc.result = storable(job.result, `${what} result`);
  }
  if (job.idempotencyKey !== null) doc.idempotencyKey = job.idempotencyKey;

  checkSize(doc, what);
  return doc;
}

export function toJob(doc: JobDoc): JobRecord {
  return {
    id: doc._id,
    parentId: doc.parentId,
    rootId: doc.rootId,
    action: doc.action,
    target: doc.target,
    params: doc.params,
    status: doc.status as JobStatus,
    result: 'result' in doc ? doc.result : undefined,
    error: doc.error,
    maxDurationMs: doc.maxDurationMs,
    idempotencyKey: doc.idempotencyKey ?? null,
    owner: doc.owner,
    createdAt: doc.createdAt,
    startedAt: doc.startedAt,
    endedAt: doc.endedAt,
  };
}

/** The data of an object save, checked; its size is checked on the doc. */
export function objectData(
  guid: string,
  data: Record<string, unknown>,
): Record<string, unknown> {
  return storable(data, `object ${guid} data`);
}

export function toObject(doc: ObjectDoc): RootObject {
  return {
    guid: doc._id,
    type: doc.type,
    version: doc.version,
    data: doc.data,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

export function logDoc(entry: JobLogEntry): LogDoc {
  const what = `log entry ${entry.jobId}#${entry.seq}`;
  const doc: LogDoc = {
    _id: logId(entry.jobId, entry.seq),
    jobId: entry.jobId,
    seq: entry.seq,
    at: entry.at,
    level: entry.level,
    message: entry.message,
  };
  if (entry.data !== undefined) doc.data = storable(entry.data, `${what} data`);

  checkSize(doc, what);
  return doc;
}

export function toLogEntry(doc: LogDoc): JobLogEntry {
  const entry: JobLogEntry = {
    jobId: doc.jobId,
    seq: doc.seq,
    at: doc.at,
    level: doc.level as JobLogEntry['level'],
    message: doc.message,
  };
  if ('data' in doc) entry.data = doc.data;
  return entry;
}

/** One id per log line; the seq at the end keeps ids of jobs apart. */
function logId(jobId: string, seq: number): string {
  return `${jobId}#${seq}`;
}

/** Refuses a document MongoDB would refuse for its size. */
export function checkSize(doc: object, what: string): void {
  const bytes = BSON.calculateObjectSize(doc as BSON.Document);
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw badWrite(
      `${what} is ${bytes} bytes as BSON, over MongoDB's limit of ` +
        `${MAX_DOCUMENT_BYTES} bytes`,
    );
  }
}

/** The value as JSON keeps it, with every field name MongoDB can store. */
function storable<T>(value: T, what: string): T {
  const copy = JSON.parse(toJson(value, what)) as T;
  checkFieldNames(copy, what, '', 0);
  return copy;
}

function checkFieldNames(
  value: unknown,
  what: string,
  path: string,
  depth: number,
): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth >= MAX_DEPTH) {
    throw badWrite(
      `${what} nests deeper than MongoDB's limit of ${MAX_DEPTH} levels`,
    );
  }

  if (Array.isArray(value)) {
    value.forEach((item, i) =>
      checkFieldNames(item, what, `${path}[${i}]`, depth + 1),
    );
    return;
  }
  for (const [name, item] of Object.entries(value)) {
    const at = path === '' ? name : `${path}.${name}`;
    if (name.startsWith('$') || name.includes('.') || name.includes('\0')) {
      throw badWrite(
        `${what} has the field name ${JSON.stringify(name)}` +
          `${path === '' ? '' : ` at ${path}`}, which MongoDB refuses ` +
          '(a name must not start with $ or hold a dot or a NUL)',
      );
    }
    checkFieldNames(item, what, at, depth + 1);
  }
}
