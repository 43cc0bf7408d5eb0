import type { JobQuery, JobRecord, Store } from '../../runtime/drp/types.js';
import {
  INSTANCE_TYPE,
  type InstanceRecord,
} from '../../runtime/workflows/snapshots.js';

const PAGE = 1_000;

/**
 * Every item of a listing read a page at a time: `read(last)` gives the
 * page after `last` (undefined for the first).
 */
async function* paged<T>(
  read: (last: T | undefined) => Promise<T[]>,
): AsyncGenerator<T> {
  let last: T | undefined;
  for (;;) {
    const page = await read(last);
    yield* page;
    if (page.length < PAGE) return;
    last = page[page.length - 1];
  }
}

/** A workflow instance's record, and how many times it was saved. */
export interface StoredInstance {
  record: InstanceRecord;
  version: number;
}

/** The workflow instances in `store`, in guid order. */
export async function* allInstances(
  store: Store,
): AsyncGenerator<StoredInstance> {
  const objects = paged((last: { guid: string } | undefined) =>
    store.findObjects({
      type: INSTANCE_TYPE,
      limit: PAGE,
      afterGuid: last?.guid,
    }),
  );
  for await (const object of objects) {
    const record = object.data as unknown as InstanceRecord;
    yield { record, version: object.version };
  }
}

/** The jobs that match `query`, newest first. */
export function allJobs(
  store: Store,
  query: Omit<JobQuery, 'beforeId' | 'limit'>,
): AsyncGenerator<JobRecord> {
  return paged((last: JobRecord | undefined) =>
    store.listJobs({ ...query, limit: PAGE, beforeId: last?.id }),
  );
}

/** How many of `items` pass `test`. */
export async function countOf<T>(
  items: AsyncIterable<T>,
  test: (item: T) => boolean,
): Promise<number> {
  let count = 0;
  for await (const item of items) if (test(item)) count++;
  return count;
}
