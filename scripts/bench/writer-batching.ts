import { join } from 'node:path';

import { createActor } from 'xstate';

import {
  drpWriterMachine,
  type WriteRequest,
} from '../../actors/drp-writer.js';
import { openSqliteStore } from '../../runtime/drp/sqlite-store.js';
import type { JobRecord, Store, Write } from '../../runtime/drp/types.js';
import { DrpWriterClient } from '../../runtime/drp/writer-client.js';
import { silentLogger } from '../../runtime/log.js';
import { Mailbox } from '../../runtime/mailbox.js';
import { check, ratePerSec } from './stats.js';
import { LocalBus } from '../../runtime/bus/local.js';
import { serveWriter } from '../../runtime/drp/writer-service.js';

export interface WriterBatchingResult {
  batchedPerSec: number;
  unbatchedPerSec: number;
  ratio: number;
}

/** A finished job whose params encode to about 120 bytes of JSON. */
export function jobPut(prefix: string, i: number): Write {
  const id = `${prefix}-${String(i).padStart(8, '0')}`;
  const now = Date.now();
  const job: JobRecord = {
    id,
    parentId: null,
    rootId: id,
    action: 'machine.create',
    target: null,
    params: {
      name: `vm-${i}`,
      memoryMb: 2048,
      cpus: 2,
      image: 'debian-12-generic-amd64',
      network: 'default',
      owner: 'team-infra',
    },
    status: 'done',
    result: 1,
    error: null,
    maxDurationMs: null,
    idempotencyKey: null,
    owner: null,
    createdAt: now,
    startedAt: now,
    endedAt: now,
  };
  return { kind: 'job.put', job };
}

/**
 * All writes sent at once through the real writer: mailbox and actor.
 * `writeAt(i)` makes the i-th write; by default a new job each.
 */
export async function batchedPerSec(
  store: Store,
  writes: number,
  writeAt: (i: number) => Write = (i) => jobPut('batched', i),
): Promise<number> {
  const mailbox = new Mailbox<WriteRequest>({
    name: 'drp-writer',
    capacity: 10_000,
    overflow: 'wait',
  });
  const writer = createActor(drpWriterMachine, {
    input: { store, mailbox, logger: silentLogger(), maxBatch: 512 },
  }).start();
  const client = writerClientFor(mailbox);

  let ok = 0;
  const rate = await ratePerSec(writes, async () => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < writes; i++) {
      const written = client.write(writeAt(i)).then((outcome) => {
        if (outcome.ok) ok++;
      });
      pending.push(written);
    }
    await Promise.all(pending);
  });

  writer.stop();
  check(ok === writes, `batched: ${ok} of ${writes} writes ok`);
  return rate;
}

/** One transaction, hence one fsync, per write. */
async function unbatched(store: Store, writes: number): Promise<number> {
  let ok = 0;
  const rate = await ratePerSec(writes, async () => {
    for (let i = 0; i < writes; i++) {
      const [outcome] = await store.commit([jobPut('single', i)]);
      if (outcome?.ok) ok++;
    }
  });

  check(ok === writes, `unbatched: ${ok} of ${writes} writes ok`);
  return rate;
}

/** The writer's batches versus a commit per write, synchronous FULL. */
export async function writerBatching(options: {
  workDir: string;
  batchedWrites: number;
  unbatchedWrites: number;
}): Promise<WriterBatchingResult> {
  const open = (name: string) =>
    openSqliteStore({ path: join(options.workDir, name), synchronous: 'FULL' });
  const batchedStore = open('batched.db');
  const unbatchedStore = open('unbatched.db');

  try {
    const batched = await batchedPerSec(batchedStore, options.batchedWrites);
    const unbatchedPerSec = await unbatched(
      unbatchedStore,
      options.unbatchedWrites,
    );
    return {
      batchedPerSec: batched,
      unbatchedPerSec,
      ratio: batched / unbatchedPerSec,
    };
  } finally {
    await Promise.all([batchedStore.close(), unbatchedStore.close()]);
  }
}

/** A client reaching the writer's mailbox the way the engine's do. */
function writerClientFor(mailbox: Mailbox<WriteRequest>): DrpWriterClient {
  const bus = new LocalBus({ logger: silentLogger() });
  serveWriter(bus, mailbox);
  return new DrpWriterClient(bus);
}
