import t, { type Test } from 'tap';
import { createActor } from 'xstate';

import {
  drpWriterMachine,
  type WriteRequest,
} from '../../../actors/drp-writer.js';
import { openMongoStore } from '../../../runtime/drp/mongo-store.js';
import type {
  JobRecord,
  Store,
  Write,
  WriteOutcome,
} from '../../../runtime/drp/types.js';
import { silentLogger } from '../../../runtime/log.js';
import { Mailbox } from '../../../runtime/mailbox.js';
import { startFerretDb } from '../../../scripts/services/ferretdb.js';
import { freshDatabaseName } from '../../helpers/mongo.js';
import { job, T } from './store-contract.js';

// These tests stop and kill the server, so they run their own FerretDB
// even when WFE_MONGODB_URL names another server.
const server = await startFerretDb();
t.teardown(() => server.stop());

function databaseUrl(): string {
  return `${server.url.replace(/\/?$/, '/')}${freshDatabaseName('faults')}`;
}

function finishedJob(id: string): JobRecord {
  return job(id, {
    params: { n: id },
    status: 'done',
    result: 1,
    idempotencyKey: `key-${id}`,
    owner: 'engine-1',
    startedAt: T,
    endedAt: T,
  });
}

function save(guid: string, expectedVersion: number): Write {
  return {
    kind: 'object.save',
    guid,
    type: 'machine',
    data: { step: expectedVersion + 1 },
    expectedVersion,
    at: T + expectedVersion,
  };
}

/** The real single writer in front of `store`, as the engine runs it. */
function startWriter(t: Test, store: Store) {
  const mailbox = new Mailbox<WriteRequest>({
    name: 'drp-writer',
    capacity: 10_000,
    overflow: 'wait',
  });
  const actor = createActor(drpWriterMachine, {
    input: { store, mailbox, logger: silentLogger(), maxBatch: 256 },
  }).start();
  t.teardown(() => actor.stop());
  return (write: Write) =>
    new Promise<WriteOutcome>((resolve, reject) => {
      void mailbox.send({ write, resolve, reject });
    });
}

t.test(
  'a server crash while writes flow loses no acknowledged write',
  async (t) => {
    const store = await openMongoStore({
      url: databaseUrl(),
      serverSelectionTimeoutMs: 1_000,
      retryForMs: 30_000,
    });
    t.teardown(() => store.close());
    const write = startWriter(t, store);
    const lanes = 20;
    const perLane = 60;
    const acknowledged = {
      jobs: [] as string[],
      saves: new Map<string, number>(),
    };
    const failures: string[] = [];
    let crashed = false;
    let writesAfterCrash = 0;

    // Each lane saves its own object again and again (each save needs the
    // one before) and puts a job between saves.
    const lane = async (n: number) => {
      const guid = `m-${n}`;
      for (let i = 0; i < perLane; i++) {
        const [saved, put] = await Promise.all([
          write(save(guid, i)),
          write({ kind: 'job.put', job: finishedJob(`j-${n}-${i}`) }),
        ]);
        if (crashed) writesAfterCrash++;
        if (saved.ok) acknowledged.saves.set(guid, i + 1);
        else failures.push(`${guid} v${i}: ${saved.error.code}`);
        if (put.ok) acknowledged.jobs.push(`j-${n}-${i}`);
        else failures.push(`j-${n}-${i}: ${put.error.code}`);
        if (!saved.ok) return;
      }
    };
    const crash = async () => {
      while (acknowledged.jobs.length < (lanes * perLane) / 3) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      server.kill();
      crashed = true;
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.restart();
    };

    await Promise.all([
      ...Array.from({ length: lanes }, (_, n) => lane(n)),
      crash(),
    ]);

    t.strictSame(failures, [], 'every write went through, retried as needed');
    t.ok(writesAfterCrash > 0, 'writes went on after the crash');
    for (const id of acknowledged.jobs) {
      const stored = await store.getJob(id);
      if (!stored) t.fail(`acknowledged job ${id} is missing`);
    }
    t.equal(acknowledged.jobs.length, lanes * perLane);
    for (const [guid, version] of acknowledged.saves) {
      t.equal(
        (await store.getObject(guid))?.version,
        version,
        `${guid} version`,
      );
    }
  },
);

t.test(
  'a server down past the retry budget fails writes, then recovers',
  async (t) => {
    const store = await openMongoStore({
      url: databaseUrl(),
      serverSelectionTimeoutMs: 300,
      retryForMs: 1_000,
    });
    t.teardown(() => store.close());
    const write = startWriter(t, store);
    t.match(await write(save('m-1', 0)), { ok: true });

    server.kill();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.rejects(write(save('m-1', 1)), {
      code: 'STORE_UNAVAILABLE',
      retryable: true,
    });
    await t.rejects(store.getObject('m-1'), { code: 'STORE_UNAVAILABLE' });

    await server.restart();
    t.match(await write(save('m-1', 1)), { ok: true, object: { version: 2 } });
    t.match(await store.getObject('m-1'), { version: 2 });
  },
);

t.test(
  'two senders racing on one object: exactly one wins each time',
  async (t) => {
    const store = await openMongoStore({ url: databaseUrl() });
    t.teardown(() => store.close());
    const write = startWriter(t, store);
    const rounds = 40;

    const created = await Promise.all([
      write(save('shared', 0)),
      write(save('shared', 0)),
    ]);
    t.equal(created.filter((outcome) => outcome.ok).length, 1);
    t.match(
      created.find((outcome) => !outcome.ok),
      { error: { code: 'CONFLICT' } },
    );

    let conflicts = 0;
    for (let version = 1; version <= rounds; version++) {
      const outcomes = await Promise.all([
        write(save('shared', version)),
        write(save('shared', version)),
      ]);
      const wins = outcomes.filter((outcome) => outcome.ok).length;
      const lost = outcomes.find((outcome) => !outcome.ok);
      if (wins === 1 && lost?.ok === false && lost.error.code === 'CONFLICT') {
        conflicts++;
      }
    }

    t.equal(conflicts, rounds, 'one wins and the other gets CONFLICT');
    t.match(await store.getObject('shared'), { version: rounds + 1 });
  },
);
