import type { Clock } from '../clock.js';
import type { JobRecord, RootObject, Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import type { Logger } from '../log.js';
import { INSTANCE_TYPE, type InstanceRecord } from './snapshots.js';

/** An instance as stored, with the version of its record. */
export interface StoredInstance extends InstanceRecord {
  version: number;
}

export interface ResumeOptions {
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  logger: Logger;
  owner: string;
  resume(
    instance: StoredInstance,
    job: JobRecord,
    lastSeq: number,
  ): Promise<void>;
}

const PAGE = 200;

/**
 * Finds the instances that were running when their engine died (the
 * reaper marked their jobs INTERRUPTED) and resumes each once: an engine
 * claims an instance by saving its record at the version it read, so of
 * several engines starting together exactly one gets each.
 */
export async function resumeInstances(options: ResumeOptions): Promise<number> {
  const { store } = options;
  let resumed = 0;
  let afterGuid: string | undefined;

  for (;;) {
    const page = await store.findObjects({
      type: INSTANCE_TYPE,
      limit: PAGE,
      afterGuid,
    });
    // The instances of a page are claimed and resumed together, so that
    // the writer commits their records in batches.
    const outcomes = await Promise.all(
      page.map((object) => resumeOne(object, options)),
    );
    resumed += outcomes.filter(Boolean).length;
    if (page.length < PAGE) return resumed;
    afterGuid = page[page.length - 1]!.guid;
  }
}

async function resumeOne(
  object: RootObject,
  options: ResumeOptions,
): Promise<boolean> {
  const { store } = options;
  const instance = object.data as unknown as InstanceRecord;
  if (instance.status !== 'active') return false;
  const job = await store.getJob(object.guid);
  if (!job || !wasInterrupted(job)) return false;
  // Instances started by another job would go on with their parent,
  // which is not resumed; they stay interrupted.
  if (job.parentId !== null) return false;

  const claimed = await options.writer.write({
    kind: 'object.save',
    guid: object.guid,
    type: INSTANCE_TYPE,
    data: { ...object.data, owner: options.owner },
    expectedVersion: object.version,
    at: options.clock.now(),
  });
  if (!claimed.ok) return false;

  const lastSeq = await lastLogSeq(store, job.id);
  await options.resume(
    { ...instance, version: object.version + 1 },
    job,
    lastSeq,
  );
  options.logger.info(
    { jobId: job.id, workflow: instance.workflow },
    'workflow instance resumed',
  );
  return true;
}

function wasInterrupted(job: JobRecord): boolean {
  return job.status === 'error' && job.error?.code === 'INTERRUPTED';
}

async function lastLogSeq(store: Store, jobId: string): Promise<number> {
  let last = 0;
  for (;;) {
    const page = await store.jobLogs(jobId, { afterSeq: last, limit: 1000 });
    if (page.length === 0) return last;
    last = page[page.length - 1]!.seq;
  }
}
