import type { Bus, BusSubscription } from '../bus/types.js';
import { WfeError } from '../errors.js';
import type { Store } from './types.js';

/** Where the writer's process answers reads for processes without a store. */
export const DRP_READ = 'wfe.internal.drp.read';

const READS = [
  'getObject',
  'findObjects',
  'getJob',
  'getJobByKey',
  'listJobs',
  'jobTree',
  'jobLogs',
] as const;

type ReadOp = (typeof READS)[number];

interface ReadRequest {
  op: ReadOp;
  args: unknown[];
}

/** Answers store reads from other processes. */
export function serveReads(bus: Bus, store: Store): BusSubscription {
  return bus.serve(DRP_READ, (message) => {
    const { op, args } = (message ?? {}) as Partial<ReadRequest>;
    if (!READS.includes(op as ReadOp) || !Array.isArray(args)) {
      throw new WfeError(
        'BAD_QUERY',
        `a read needs op (one of ${READS.join(', ')}) and args (an array)`,
      );
    }

    const read = store[op!] as (...a: unknown[]) => Promise<unknown>;
    return read.apply(store, args);
  });
}

/**
 * The store as seen by a process that does not own it: reads travel over
 * the bus to the writer's process, and writes go through the writer like
 * everyone's.
 */
export function busStore(bus: Bus): Store {
  const read =
    (op: ReadOp) =>
    (...args: unknown[]) =>
      bus.request(DRP_READ, { op, args });

  return {
    kind: 'remote',
    commit: () =>
      Promise.reject(
        new WfeError(
          'NOT_SUPPORTED',
          'this process does not own the store; write through the writer',
        ),
      ),
    getObject: read('getObject') as Store['getObject'],
    findObjects: read('findObjects') as Store['findObjects'],
    getJob: read('getJob') as Store['getJob'],
    getJobByKey: read('getJobByKey') as Store['getJobByKey'],
    listJobs: read('listJobs') as Store['listJobs'],
    jobTree: read('jobTree') as Store['jobTree'],
    jobLogs: read('jobLogs') as Store['jobLogs'],
    close: () => Promise.resolve(),
  };
}
