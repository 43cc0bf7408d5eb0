import type { Bus } from '../bus/types.js';
import type { JobLogEntry, JobRecord, JobStatus } from '../drp/types.js';
import { toWfeError, WfeError } from '../errors.js';
import {
  MAX_PAGE,
  type JobDetails,
  type JobPage,
} from '../nats/query-service.js';
import { SUBJECTS } from '../nats/subjects.js';
import type { JobView } from './jobs-show.js';

const LOG_PAGE = 1000;

export interface ListFilter {
  status?: JobStatus;
  action?: string;
  /** Top-level jobs only. */
  topLevel: boolean;
  before?: string;
  limit: number;
}

/**
 * Up to `limit` jobs, newest first, page by page as the service caps
 * one; `next` continues the listing when more jobs follow.
 */
export async function listJobsOverNats(
  bus: Bus,
  filter: ListFilter,
): Promise<JobPage> {
  const jobs: JobRecord[] = [];
  let next = filter.before ?? null;
  do {
    const page = await bus.request<JobPage>(SUBJECTS.jobList, {
      status: filter.status,
      action: filter.action,
      parentId: filter.topLevel ? null : undefined,
      before: next ?? undefined,
      limit: Math.min(MAX_PAGE, filter.limit - jobs.length),
    });
    jobs.push(...page.jobs);
    next = page.next;
  } while (next !== null && jobs.length < filter.limit);
  return { jobs, next };
}

/** One job with its tree and the logs of every job in that tree. */
export async function jobViewOverNats(bus: Bus, id: string): Promise<JobView> {
  const details = await getJob(bus, id, 0);
  const logs = new Map<string, JobLogEntry[]>();
  for (const member of details.tree) {
    logs.set(
      member.id,
      member.id === id
        ? await restOfLog(bus, id, details.logs)
        : await logsAfter(bus, member.id, 0),
    );
  }
  return {
    job: details.job,
    tree: details.tree,
    logs,
    instance: details.workflow,
  };
}

/** The log lines of a job after `afterSeq`, all of them. */
export async function logsAfter(
  bus: Bus,
  id: string,
  afterSeq: number,
): Promise<JobLogEntry[]> {
  return restOfLog(bus, id, (await getJob(bus, id, afterSeq)).logs);
}

async function restOfLog(
  bus: Bus,
  id: string,
  first: JobLogEntry[],
): Promise<JobLogEntry[]> {
  const entries = [...first];
  let page = first;
  while (page.length === LOG_PAGE) {
    page = (await getJob(bus, id, entries.at(-1)!.seq)).logs;
    entries.push(...page);
  }
  return entries;
}

async function getJob(
  bus: Bus,
  id: string,
  afterSeq: number,
): Promise<JobDetails> {
  try {
    return await bus.request<JobDetails>(SUBJECTS.jobGet, {
      id,
      afterSeq,
      logLimit: LOG_PAGE,
    });
  } catch (err) {
    // The same code as a local `jobs show` gives for a missing job.
    if (toWfeError(err).code !== 'NOT_FOUND') throw err;
    throw new WfeError('JOB_NOT_FOUND', `no job with id ${id}`, {
      details: { id },
    });
  }
}
