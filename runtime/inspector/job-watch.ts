import { setTimeout as delay } from 'node:timers/promises';

import { isFinished, type JobLogEntry, type Store } from '../drp/types.js';
import { toErrorInfo, WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceDetail, readInstance } from './instance.js';
import type { EventStream } from './sse.js';
import type { JobView } from './wire.js';

/** Log lines sent per read; a long log follows over several reads. */
const LOG_PAGE = 1000;

export async function jobView(store: Store, id: string): Promise<JobView> {
  const [job, tree, instance] = await Promise.all([
    store.getJob(id),
    store.jobTree(id),
    readInstance(store, id),
  ]);
  if (!job) throw new WfeError('NOT_FOUND', `no job ${id}`);
  return {
    job,
    tree,
    instance: instance ? instanceDetail(instance) : null,
  };
}

export interface JobWatchOptions {
  store: Store;
  id: string;
  stream: EventStream;
  logger: Logger;
  intervalMs?: number;
}

/**
 * Follows one job for one page: its record, subtree and workflow
 * instance whenever they change, and its log as it grows, each line once
 * and in order. It reads the DRP, which every role can, so the page sees
 * jobs that run in any process. It ends once the whole tree has ended.
 */
export async function watchJob(options: JobWatchOptions): Promise<void> {
  const { store, id, stream } = options;
  const intervalMs = options.intervalMs ?? 250;
  let lastView = '';
  let lastSeq = 0;

  while (!stream.isClosed) {
    try {
      const view = await jobView(store, id);
      const text = JSON.stringify(view);
      if (text !== lastView) stream.sendRaw('job', text);
      lastView = text;

      lastSeq = await sendLogs(store, id, stream, lastSeq);
      if (ended(view)) {
        // Lines written just before the end may land after the record.
        await sendLogs(store, id, stream, lastSeq);
        stream.send('end', {});
        stream.close();
        return;
      }
    } catch (err) {
      const error = toErrorInfo(err);
      options.logger.debug({ jobId: id, err: error }, 'job watch failed');
      stream.send('problem', { error });
      if (error.code === 'NOT_FOUND') {
        stream.close();
        return;
      }
    }

    await stream.drained();
    await sleep(intervalMs, stream);
  }
}

async function sendLogs(
  store: Store,
  id: string,
  stream: EventStream,
  afterSeq: number,
): Promise<number> {
  const entries: JobLogEntry[] = await store.jobLogs(id, {
    afterSeq,
    limit: LOG_PAGE,
  });
  if (entries.length === 0) return afterSeq;
  stream.send('logs', { entries });
  return entries[entries.length - 1]!.seq;
}

function ended(view: JobView): boolean {
  const running = view.instance?.status === 'active';
  return !running && view.tree.every((job) => isFinished(job.status));
}

/** Waits, or less if the client goes: the loop then sees it closed. */
function sleep(ms: number, stream: EventStream): Promise<void> {
  return delay(ms, undefined, { signal: stream.signal }).catch(() => {});
}
