import { MongoClient } from 'mongodb';
import t from 'tap';

import { runRound } from '../../../runtime/drp/mongo-commit.js';
import type {
  JobDoc,
  LogDoc,
  ObjectDoc,
} from '../../../runtime/drp/mongo-docs.js';
import {
  planBatch,
  type Collections,
} from '../../../runtime/drp/mongo-plan.js';
import { openMongoStore } from '../../../runtime/drp/mongo-store.js';
import type { Write, WriteOutcome } from '../../../runtime/drp/types.js';
import { silentLogger } from '../../../runtime/log.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';

const server = await mongoServer(t);
const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5_000 });
t.teardown(() => client.close());
const policy = { retryForMs: 5_000, logger: silentLogger() };

function collections(): Collections {
  const db = client.db(freshDatabaseName('commit'));
  return {
    objects: db.collection<ObjectDoc>('objects'),
    jobs: db.collection<JobDoc>('jobs'),
    logs: db.collection<LogDoc>('job_logs'),
  };
}

const save = (guid: string, expectedVersion: number): Write => ({
  kind: 'object.save',
  guid,
  type: 'machine',
  data: { v: expectedVersion + 1 },
  expectedVersion,
  at: 1_000 + expectedVersion,
});

/** An object as another writer left it. */
function stored(_id: string, version: number, lastWrite: string): ObjectDoc {
  const at = 1;
  return {
    _id,
    type: 'machine',
    version,
    data: {},
    createdAt: at,
    updatedAt: at,
    lastWrite,
  };
}

/** Plans a batch once and runs its rounds `times` times, as a retry would. */
async function commitRepeated(
  where: Collections,
  writes: Write[],
  times: number,
): Promise<WriteOutcome[][]> {
  let ids = 0;
  const plan = await planBatch(writes, where, () => `w.${++ids}`);
  const runs: WriteOutcome[][] = [];
  for (let run = 0; run < times; run++) {
    const outcomes: WriteOutcome[] = new Array(writes.length);
    for (const [index, outcome] of plan.settled) outcomes[index] = outcome;
    for (const round of plan.rounds) {
      await runRound(round, where, outcomes, policy);
    }
    runs.push(outcomes);
  }
  return runs;
}

t.test('a write that already happened is done when run again', async (t) => {
  // As when the server applied a batch but the answer was lost, and the
  // writer sent it again: each write must know itself, not report a
  // conflict with its own earlier run.
  const where = collections();
  await where.objects.insertOne(stored('m-old', 3, 'earlier'));
  await where.objects.insertOne(stored('m-gone', 1, 'earlier'));
  const writes: Write[] = [
    save('m-new', 0),
    save('m-old', 3),
    { kind: 'object.delete', guid: 'm-gone', expectedVersion: 1 },
    {
      kind: 'log.append',
      entries: [{ jobId: 'j-1', seq: 1, at: 1, level: 'info', message: 'x' }],
    },
  ];

  const [first, again] = await commitRepeated(where, writes, 2);

  t.match(first, [
    { ok: true, object: { version: 1 } },
    { ok: true, object: { version: 4 } },
    { ok: true },
    { ok: true },
  ]);
  t.strictSame(again, first, 'the second run reports the same');
  t.match(await where.objects.findOne({ _id: 'm-old' }), { version: 4 });
  t.equal(await where.objects.countDocuments({ _id: 'm-gone' }), 0);
  t.equal(await where.logs.countDocuments({ jobId: 'j-1' }), 1);
});

t.test('a write beaten by another writer is CONFLICT', async (t) => {
  const where = collections();
  await where.objects.insertOne(stored('m-1', 1, 'theirs'));
  await where.objects.insertOne(stored('m-3', 1, 'theirs'));
  let ids = 0;
  const plan = await planBatch(
    [
      save('m-1', 1),
      save('m-2', 0),
      { kind: 'object.delete', guid: 'm-3', expectedVersion: 1 },
    ],
    where,
    () => `w.${++ids}`,
  );

  // Between the read of versions and the write, another writer moved on.
  for (const _id of ['m-1', 'm-3']) {
    await where.objects.updateOne(
      { _id },
      { $set: { version: 2, lastWrite: 'x' } },
    );
  }
  await where.objects.insertOne(stored('m-2', 1, 'theirs'));
  t.equal(plan.settled.size, 0, 'each write looked fine when planned');
  const outcomes: WriteOutcome[] = new Array(3);
  for (const round of plan.rounds)
    await runRound(round, where, outcomes, policy);

  t.match(outcomes[0], {
    ok: false,
    error: {
      code: 'CONFLICT',
      details: { expectedVersion: 1, actualVersion: 2 },
    },
  });
  t.match(outcomes[1], { ok: false, error: { code: 'CONFLICT' } });
  t.match(outcomes[2], { ok: false, error: { code: 'CONFLICT' } });
  t.match(await where.objects.findOne({ _id: 'm-1' }), { version: 2 });
  t.match(await where.objects.findOne({ _id: 'm-3' }), { version: 2 });
});

t.test('two stores creating one object: exactly one wins', async (t) => {
  const url = `${server.url.replace(/\/?$/, '/')}${freshDatabaseName('create')}`;
  const [a, b] = await Promise.all([
    openMongoStore({ url }),
    openMongoStore({ url }),
  ]);
  t.teardown(() => Promise.all([a.close(), b.close()]));

  let conflicts = 0;
  for (let i = 0; i < 30; i++) {
    const [[fromA], [fromB]] = await Promise.all([
      a.commit([save(`m-${i}`, 0)]),
      b.commit([save(`m-${i}`, 0)]),
    ]);
    const wins = [fromA, fromB].filter((outcome) => outcome!.ok).length;
    const lost = [fromA, fromB].find((outcome) => !outcome!.ok);
    if (wins === 1 && lost?.ok === false && lost.error.code === 'CONFLICT') {
      conflicts++;
    }
  }
  t.equal(conflicts, 30);
});
