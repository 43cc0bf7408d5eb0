import type { Test } from 'tap';
import type {
  JobLogEntry,
  JobRecord,
  Store,
  Write,
  WriteOutcome,
} from '../../../runtime/drp/types.js';

/**
 * The behaviour every DRP store must show. A store implementation runs it
 * with a factory that returns a fresh, empty store each time; every subtest
 * opens its own store and closes it.
 */
export function storeContract(
  t: Test,
  makeStore: () => Promise<Store> | Store,
): void {
  async function open(t: Test): Promise<Store> {
    const store = await makeStore();
    t.teardown(() => store.close());
    return store;
  }

  async function commitOk(store: Store, writes: Write[]): Promise<void> {
    const outcomes = await store.commit(writes);
    const failed = outcomes.filter((outcome) => !outcome.ok);
    if (failed.length > 0) {
      throw new Error(`setup commit failed: ${JSON.stringify(failed)}`);
    }
  }

  t.test('store - kind names the implementation', async (t) => {
    const store = await open(t);
    t.type(store.kind, 'string');
    t.ok(store.kind.length > 0);
  });

  t.test('objects - a new save is version 1 and round-trips', async (t) => {
    const store = await open(t);
    const data = {
      name: 'vm-1',
      cpus: 4,
      ratio: 0.25,
      on: false,
      nothing: null,
      tags: ['a', 'b', 1, null],
      nested: { deep: { text: 'héllo ✓ "quoted"' } },
    };

    const [outcome] = await store.commit([save('m-1', 'machine', data, 0, T)]);

    const expected = {
      guid: 'm-1',
      type: 'machine',
      version: 1,
      data,
      createdAt: T,
      updatedAt: T,
    };
    t.strictSame(outcome, { ok: true, object: expected });
    const stored = await store.getObject('m-1');
    t.strictSame(stored, expected);
    t.ok(stored && 'nothing' in stored.data, 'a null field is kept');
    t.notOk(stored && 'missing' in stored.data, 'no field is invented');
  });

  t.test('objects - getObject of an unknown guid is null', async (t) => {
    const store = await open(t);
    t.equal(await store.getObject('nope'), null);
  });

  t.test('objects - a save at version n makes n + 1', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('m-1', 'machine', { n: 1 }, 0, T)]);

    const [second] = await store.commit([
      save('m-1', 'machine', { n: 2 }, 1, T + 10),
    ]);
    const [third] = await store.commit([
      save('m-1', 'machine', { n: 3 }, 2, T + 20),
    ]);

    t.match(second, { ok: true, object: { version: 2, data: { n: 2 } } });
    const expected = {
      guid: 'm-1',
      type: 'machine',
      version: 3,
      data: { n: 3 },
      createdAt: T,
      updatedAt: T + 20,
    };
    t.strictSame(third, { ok: true, object: expected });
    t.strictSame(await store.getObject('m-1'), expected);
  });

  t.test('objects - creating a guid that exists is CONFLICT', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('m-1', 'machine', { n: 1 }, 0, T)]);

    const [outcome] = await store.commit([
      save('m-1', 'machine', { n: 2 }, 0, T + 1),
    ]);

    const error = failure(t, outcome, 'CONFLICT');
    t.strictSame(error?.details, {
      guid: 'm-1',
      expectedVersion: 0,
      actualVersion: 1,
    });
    t.match(error?.message, 'm-1');
    t.equal(error?.retryable, false);
    t.match(await store.getObject('m-1'), { version: 1, data: { n: 1 } });
  });

  t.test('objects - a stale expectedVersion is CONFLICT', async (t) => {
    const store = await open(t);
    await commitOk(store, [
      save('m-1', 'machine', { n: 1 }, 0, T),
      save('m-1', 'machine', { n: 2 }, 1, T),
    ]);

    const [outcome] = await store.commit([
      save('m-1', 'machine', { n: 9 }, 1, T + 1),
    ]);

    const error = failure(t, outcome, 'CONFLICT');
    t.strictSame(error?.details, {
      guid: 'm-1',
      expectedVersion: 1,
      actualVersion: 2,
    });
    t.match(error?.message, 'm-1');
    t.match(await store.getObject('m-1'), { version: 2, data: { n: 2 } });
  });

  t.test('objects - updating a missing object is NOT_FOUND', async (t) => {
    const store = await open(t);

    const [outcome] = await store.commit([
      save('ghost', 'machine', { n: 1 }, 3, T),
    ]);

    const error = failure(t, outcome, 'NOT_FOUND');
    t.strictSame(error?.details, {
      guid: 'ghost',
      expectedVersion: 3,
      actualVersion: null,
    });
    t.equal(await store.getObject('ghost'), null);
  });

  t.test('objects - saving a guid as another type is BAD_WRITE', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('x-1', 'machine', { n: 1 }, 0, T)]);

    const [outcome] = await store.commit([
      save('x-1', 'customer', { n: 2 }, 1, T + 1),
    ]);

    failure(t, outcome, 'BAD_WRITE');
    t.match(await store.getObject('x-1'), { type: 'machine', version: 1 });
  });

  t.test(
    'objects - saves of one guid in one batch apply in order',
    async (t) => {
      const store = await open(t);

      const outcomes = await store.commit([
        save('m-1', 'machine', { n: 1 }, 0, T),
        save('m-1', 'machine', { n: 2 }, 1, T + 1),
        save('m-1', 'machine', { n: 3 }, 1, T + 2),
      ]);

      t.match(outcomes[0], { ok: true, object: { version: 1 } });
      t.match(outcomes[1], { ok: true, object: { version: 2 } });
      failure(t, outcomes[2], 'CONFLICT');
      t.match(await store.getObject('m-1'), { version: 2, data: { n: 2 } });
    },
  );

  t.test('objects - delete checks the version', async (t) => {
    const store = await open(t);
    await commitOk(store, [
      save('m-1', 'machine', { n: 1 }, 0, T),
      save('m-1', 'machine', { n: 2 }, 1, T),
    ]);

    const [stale] = await store.commit([del('m-1', 1)]);
    const [zero] = await store.commit([del('m-1', 0)]);
    const [right] = await store.commit([del('m-1', 2)]);
    const [again] = await store.commit([del('m-1', 2)]);

    t.strictSame(failure(t, stale, 'CONFLICT')?.details, {
      guid: 'm-1',
      expectedVersion: 1,
      actualVersion: 2,
    });
    failure(t, zero, 'BAD_WRITE');
    t.strictSame(right, { ok: true });
    t.strictSame(failure(t, again, 'NOT_FOUND')?.details, {
      guid: 'm-1',
      expectedVersion: 2,
      actualVersion: null,
    });
    t.equal(await store.getObject('m-1'), null);
  });

  t.test('objects - a deleted guid can be created again', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('m-1', 'machine', { n: 1 }, 0, T)]);
    await commitOk(store, [del('m-1', 1)]);

    const [outcome] = await store.commit([
      save('m-1', 'machine', { n: 5 }, 0, T + 5),
    ]);

    t.match(outcome, { ok: true, object: { version: 1, createdAt: T + 5 } });
  });

  t.test('objects - findObjects sorts, filters and pages', async (t) => {
    const store = await open(t);
    await commitOk(store, [
      save('c', 'machine', { i: 3 }, 0, T),
      save('a', 'machine', { i: 1 }, 0, T),
      save('d', 'customer', { i: 4 }, 0, T),
      save('b', 'machine', { i: 2 }, 0, T),
      save('e', 'machine', { i: 5 }, 0, T),
    ]);
    const guids = async (query?: Parameters<Store['findObjects']>[0]) =>
      (await store.findObjects(query)).map((object) => object.guid);

    t.strictSame(await guids(), ['a', 'b', 'c', 'd', 'e']);
    t.strictSame(await guids({ type: 'machine' }), ['a', 'b', 'c', 'e']);
    t.strictSame(await guids({ type: 'machine', limit: 2 }), ['a', 'b']);
    t.strictSame(await guids({ type: 'machine', limit: 2, afterGuid: 'b' }), [
      'c',
      'e',
    ]);
    t.strictSame(await guids({ afterGuid: 'c' }), ['d', 'e']);
    t.strictSame(await guids({ afterGuid: 'e' }), []);
    t.strictSame(await guids({ type: 'nothing' }), []);
    t.strictSame(await store.findObjects({ type: 'customer' }), [
      {
        guid: 'd',
        type: 'customer',
        version: 1,
        data: { i: 4 },
        createdAt: T,
        updatedAt: T,
      },
    ]);
  });

  t.test('objects - findObjects limits default to 100, max 1000', async (t) => {
    const store = await open(t);
    const writes: Write[] = [];
    for (let i = 0; i < 1005; i++) {
      writes.push(save(`o-${String(i).padStart(4, '0')}`, 'thing', {}, 0, T));
    }
    await commitOk(store, writes);

    const firstPage = await store.findObjects();
    const capped = await store.findObjects({ limit: 5000 });

    t.equal(firstPage.length, 100);
    t.equal(firstPage[99]?.guid, 'o-0099');
    t.equal(capped.length, 1000);
    const rest = await store.findObjects({ afterGuid: capped[999]?.guid });
    t.strictSame(
      rest.map((object) => object.guid),
      ['o-1000', 'o-1001', 'o-1002', 'o-1003', 'o-1004'],
    );
  });

  t.test('queries - a bad limit is BAD_QUERY', async (t) => {
    const store = await open(t);

    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await t.rejects(store.findObjects({ limit }), { code: 'BAD_QUERY' });
      await t.rejects(store.listJobs({ limit }), { code: 'BAD_QUERY' });
      await t.rejects(store.jobLogs('j', { limit }), { code: 'BAD_QUERY' });
    }
  });

  t.test(
    'queries - an unknown status or odd afterSeq is BAD_QUERY',
    async (t) => {
      const store = await open(t);
      const status = 'asleep' as JobRecord['status'];

      await t.rejects(store.listJobs({ status }), { code: 'BAD_QUERY' });
      await t.rejects(store.jobLogs('j', { afterSeq: 0.5 }), {
        code: 'BAD_QUERY',
      });
    },
  );

  t.test('jobs - put round-trips every field', async (t) => {
    const store = await open(t);
    const full = job('j-1', {
      parentId: 'j-0',
      rootId: 'j-0',
      target: 'm-1',
      params: { size: 'large', list: [1, { a: null }] },
      status: 'error',
      result: { partial: [1, 2] },
      error: {
        code: 'AGENT_OFFLINE',
        message: 'agent a-1 is offline',
        retryable: true,
        details: { agent: 'a-1' },
        cause: { code: 'TIMEOUT', message: 'no answer', retryable: true },
      },
      maxDurationMs: 60_000,
      idempotencyKey: 'submit-7f3a',
      owner: 'engine-1',
      startedAt: T + 1,
      endedAt: T + 2,
    });

    await commitOk(store, [{ kind: 'job.put', job: full }]);

    t.strictSame(await store.getJob('j-1'), full);
    t.equal(await store.getJob('unknown'), null);
  });

  t.test('jobs - null and missing results stay apart', async (t) => {
    const store = await open(t);
    const bare = job('j-1');
    const nullResult = job('j-2', { result: null });
    const falsy = job('j-3', { result: 0 });
    const text = job('j-4', { result: 'done' });

    await commitOk(store, [bare, nullResult, falsy, text].map(putJob));

    const readBare = await store.getJob('j-1');
    t.equal(readBare?.result, undefined, 'no result reads as undefined');
    t.strictSame(withoutResult(readBare), withoutResult(bare));
    t.equal(readBare?.parentId, null);
    t.equal(readBare?.target, null);
    t.equal(readBare?.error, null);
    t.equal(readBare?.maxDurationMs, null);
    t.equal(readBare?.idempotencyKey, null);
    t.equal(readBare?.owner, null);
    t.equal(readBare?.startedAt, null);
    t.equal(readBare?.endedAt, null);
    t.equal((await store.getJob('j-2'))?.result, null);
    t.equal((await store.getJob('j-3'))?.result, 0);
    t.equal((await store.getJob('j-4'))?.result, 'done');
  });

  t.test('jobs - put overwrites the whole record', async (t) => {
    const store = await open(t);
    await commitOk(store, [putJob(job('j-1', { params: { a: 1 } }))]);

    const finished = job('j-1', {
      params: { b: 2 },
      status: 'done',
      result: { ok: true },
      startedAt: T + 5,
      endedAt: T + 9,
    });
    const [outcome] = await store.commit([putJob(finished)]);

    t.strictSame(outcome, { ok: true });
    t.strictSame(await store.getJob('j-1'), finished);
    t.strictSame(
      (await store.listJobs({ status: 'waiting' })).map((j) => j.id),
      [],
    );
    t.strictSame(
      (await store.listJobs({ status: 'done' })).map((j) => j.id),
      ['j-1'],
    );
  });

  t.test('jobs - listJobs is newest first and pages', async (t) => {
    const store = await open(t);
    const jobs = ['j-03', 'j-01', 'j-05', 'j-02', 'j-04'].map((id) => job(id));
    await commitOk(store, jobs.map(putJob));
    const ids = async (query?: Parameters<Store['listJobs']>[0]) =>
      (await store.listJobs(query)).map((record) => record.id);

    t.strictSame(await ids(), ['j-05', 'j-04', 'j-03', 'j-02', 'j-01']);
    t.strictSame(await ids({ limit: 2 }), ['j-05', 'j-04']);
    t.strictSame(await ids({ limit: 2, beforeId: 'j-04' }), ['j-03', 'j-02']);
    t.strictSame(await ids({ beforeId: 'j-02' }), ['j-01']);
    t.strictSame(await ids({ beforeId: 'j-01' }), []);
    t.strictSame(await store.listJobs({ limit: 1 }), [jobs[2]]);
  });

  t.test('jobs - listJobs filters by status, action, parent', async (t) => {
    const store = await open(t);
    await commitOk(
      store,
      [
        job('j-1', { action: 'machine.start', status: 'done' }),
        job('j-2', { action: 'machine.stop', status: 'running' }),
        job('j-3', {
          action: 'hypervisor.startVm',
          status: 'running',
          parentId: 'j-2',
          rootId: 'j-2',
        }),
        job('j-4', {
          action: 'machine.start',
          status: 'running',
          parentId: 'j-2',
          rootId: 'j-2',
        }),
        job('j-5', { action: 'machine.start', status: 'running' }),
      ].map(putJob),
    );
    const ids = async (query: Parameters<Store['listJobs']>[0]) =>
      (await store.listJobs(query)).map((record) => record.id);

    t.strictSame(await ids({ status: 'running' }), [
      'j-5',
      'j-4',
      'j-3',
      'j-2',
    ]);
    t.strictSame(await ids({ status: 'cancelled' }), []);
    t.strictSame(await ids({ action: 'machine.start' }), ['j-5', 'j-4', 'j-1']);
    t.strictSame(await ids({ parentId: null }), ['j-5', 'j-2', 'j-1']);
    t.strictSame(await ids({ parentId: 'j-2' }), ['j-4', 'j-3']);
    t.strictSame(await ids({ parentId: 'j-1' }), []);
    t.strictSame(
      await ids({ status: 'running', action: 'machine.start', parentId: null }),
      ['j-5'],
    );
    t.strictSame(
      await ids({ status: 'running', parentId: 'j-2', beforeId: 'j-4' }),
      ['j-3'],
    );
    t.strictSame(
      await ids({ action: 'machine.start', limit: 1, beforeId: 'j-5' }),
      ['j-4'],
    );
  });

  t.test('jobs - jobTree lists parents before children', async (t) => {
    const store = await open(t);
    // Ids deliberately do not follow the tree, and children are put first.
    const tree = [
      job('t-9', { parentId: 't-2', rootId: 't-5' }),
      job('t-1', { parentId: 't-2', rootId: 't-5' }),
      job('t-2', { parentId: 't-5', rootId: 't-5' }),
      job('t-3', { parentId: 't-5', rootId: 't-5' }),
      job('t-0', { parentId: 't-3', rootId: 't-5' }),
      job('t-5'),
      job('u-1'),
      job('u-2', { parentId: 'u-1', rootId: 'u-1' }),
    ];
    await commitOk(store, tree.map(putJob));

    const whole = await store.jobTree('t-5');
    const middle = await store.jobTree('t-2');

    t.equal(whole[0]?.id, 't-5', 'the asked-for job comes first');
    t.strictSame(whole.map((record) => record.id).sort(), [
      't-0',
      't-1',
      't-2',
      't-3',
      't-5',
      't-9',
    ]);
    assertParentsFirst(t, whole);
    t.strictSame(
      whole.find((record) => record.id === 't-9'),
      tree[0],
    );
    t.equal(middle[0]?.id, 't-2');
    t.strictSame(middle.map((record) => record.id).sort(), [
      't-1',
      't-2',
      't-9',
    ]);
    assertParentsFirst(t, middle);
    t.strictSame(await store.jobTree('t-0'), [tree[4]]);
    t.strictSame(await store.jobTree('nope'), []);
  });

  t.test('jobs - an idempotency key finds its job', async (t) => {
    const store = await open(t);
    const keyed = job('j-1', { idempotencyKey: 'k-1' });
    const longest = job('j-2', { idempotencyKey: 'é'.repeat(256) });
    await commitOk(store, [keyed, longest, job('j-3')].map(putJob));

    t.strictSame(await store.getJobByKey('k-1'), keyed);
    t.strictSame(await store.getJobByKey('é'.repeat(256)), longest);
    t.equal(await store.getJobByKey('k-2'), null);
    t.equal(await store.getJobByKey(''), null, 'no key is not a key');
    t.equal((await store.getJob('j-3'))?.idempotencyKey, null);
  });

  t.test('jobs - a key taken by another job is DUPLICATE', async (t) => {
    const store = await open(t);
    const first = job('j-1', { idempotencyKey: 'k-1' });
    await commitOk(store, [putJob(first)]);

    const [outcome] = await store.commit([
      putJob(job('j-2', { idempotencyKey: 'k-1' })),
    ]);

    const error = failure(t, outcome, 'DUPLICATE');
    t.strictSame(error?.details, { jobId: 'j-1', idempotencyKey: 'k-1' });
    t.match(error?.message, 'k-1');
    t.match(error?.message, 'j-1');
    t.equal(error?.retryable, false);
    t.equal(await store.getJob('j-2'), null);
    t.strictSame(await store.getJobByKey('k-1'), first);
  });

  t.test(
    'jobs - a duplicate key in one batch fails only that write',
    async (t) => {
      const store = await open(t);

      const outcomes = await store.commit([
        putJob(job('j-1', { idempotencyKey: 'k-1' })),
        save('m-1', 'machine', { n: 1 }, 0, T),
        putJob(job('j-2', { idempotencyKey: 'k-1' })),
        putJob(job('j-3', { idempotencyKey: 'k-3' })),
        { kind: 'log.append', entries: [log('j-1', 1)] },
      ]);

      t.strictSame(outcomes[0], { ok: true });
      t.match(outcomes[1], { ok: true, object: { guid: 'm-1' } });
      t.strictSame(failure(t, outcomes[2], 'DUPLICATE')?.details, {
        jobId: 'j-1',
        idempotencyKey: 'k-1',
      });
      t.strictSame(outcomes[3], { ok: true });
      t.strictSame(outcomes[4], { ok: true });
      t.equal(await store.getJob('j-2'), null);
      t.equal((await store.getJobByKey('k-1'))?.id, 'j-1');
      t.equal((await store.getJobByKey('k-3'))?.id, 'j-3');
      t.match(await store.getObject('m-1'), { version: 1 });
      t.equal((await store.jobLogs('j-1')).length, 1);
    },
  );

  t.test('jobs - a job is put again with its own key', async (t) => {
    const store = await open(t);
    await commitOk(store, [putJob(job('j-1', { idempotencyKey: 'k-1' }))]);
    const running = job('j-1', {
      idempotencyKey: 'k-1',
      status: 'running',
      startedAt: T + 1,
    });
    const done = { ...running, status: 'done' as const, endedAt: T + 2 };

    const outcomes = await store.commit([putJob(running), putJob(done)]);

    t.strictSame(outcomes, [{ ok: true }, { ok: true }]);
    t.strictSame(await store.getJobByKey('k-1'), done);
  });

  t.test('jobs - a key freed by its job can be taken', async (t) => {
    const store = await open(t);
    await commitOk(store, [putJob(job('j-1', { idempotencyKey: 'k-1' }))]);

    const outcomes = await store.commit([
      putJob(job('j-1', { idempotencyKey: 'k-other' })),
      putJob(job('j-2', { idempotencyKey: 'k-1' })),
    ]);

    t.strictSame(outcomes, [{ ok: true }, { ok: true }]);
    t.equal((await store.getJobByKey('k-1'))?.id, 'j-2');
    t.equal((await store.getJobByKey('k-other'))?.id, 'j-1');
  });

  t.test('jobs - many jobs may have no key', async (t) => {
    const store = await open(t);

    const outcomes = await store.commit([
      putJob(job('j-1')),
      putJob(job('j-2')),
    ]);

    t.strictSame(outcomes, [{ ok: true }, { ok: true }]);
    t.equal((await store.listJobs()).length, 2);
  });

  t.test('jobs - listJobs filters by owner', async (t) => {
    const store = await open(t);
    await commitOk(
      store,
      [
        job('j-1', { owner: 'engine-a', status: 'running' }),
        job('j-2', { owner: 'engine-b', status: 'running' }),
        job('j-3', { owner: 'engine-a', status: 'done' }),
        job('j-4', { owner: 'engine-a', status: 'running' }),
        job('j-5', { status: 'running' }),
      ].map(putJob),
    );
    const ids = async (query: Parameters<Store['listJobs']>[0]) =>
      (await store.listJobs(query)).map((record) => record.id);

    t.strictSame(await ids({ owner: 'engine-a' }), ['j-4', 'j-3', 'j-1']);
    t.strictSame(await ids({ owner: 'engine-a', status: 'running' }), [
      'j-4',
      'j-1',
    ]);
    t.strictSame(await ids({ owner: 'engine-b' }), ['j-2']);
    t.strictSame(await ids({ owner: 'engine-c' }), []);
    t.strictSame(await ids({ owner: 'engine-a', beforeId: 'j-4' }), [
      'j-3',
      'j-1',
    ]);
    t.equal((await store.getJob('j-2'))?.owner, 'engine-b');
    t.equal((await store.getJob('j-5'))?.owner, null);
  });

  t.test('logs - entries read back in seq order', async (t) => {
    const store = await open(t);
    const entries: JobLogEntry[] = [
      log('j-1', 2, { level: 'warn', message: 'second', data: null }),
      log('j-1', 1, { message: 'first', data: { step: 1, list: [true] } }),
      log('j-2', 1, { message: 'other job' }),
      log('j-1', 3, { level: 'error', message: 'third', data: 'text' }),
    ];

    await commitOk(store, [{ kind: 'log.append', entries }]);

    const read = await store.jobLogs('j-1');
    t.strictSame(read, [entries[1], entries[0], entries[3]]);
    t.ok(read[1] && 'data' in read[1], 'null data is kept');
    t.strictSame(await store.jobLogs('j-2'), [entries[2]]);
    t.notOk(
      'data' in ((await store.jobLogs('j-2'))[0] ?? {}),
      'missing data stays missing',
    );
    t.strictSame(await store.jobLogs('nobody'), []);
  });

  t.test('logs - appending a seq again is ignored', async (t) => {
    const store = await open(t);
    const first = log('j-1', 1, { message: 'original' });
    await commitOk(store, [{ kind: 'log.append', entries: [first] }]);

    const outcomes = await store.commit([
      {
        kind: 'log.append',
        entries: [log('j-1', 1, { message: 'retry' }), log('j-1', 2)],
      },
      { kind: 'log.append', entries: [log('j-1', 2, { message: 'again' })] },
    ]);

    t.strictSame(outcomes, [{ ok: true }, { ok: true }]);
    const read = await store.jobLogs('j-1');
    t.strictSame(read, [first, log('j-1', 2)]);
  });

  t.test('logs - afterSeq and limit page through a log', async (t) => {
    const store = await open(t);
    const entries: JobLogEntry[] = [];
    for (let seq = 1; seq <= 150; seq++) entries.push(log('j-1', seq));
    await commitOk(store, [{ kind: 'log.append', entries }]);
    const seqs = async (query?: Parameters<Store['jobLogs']>[1]) =>
      (await store.jobLogs('j-1', query)).map((entry) => entry.seq);

    const firstPage = await seqs();
    t.equal(firstPage.length, 100);
    t.equal(firstPage[0], 1);
    t.equal(firstPage[99], 100);
    t.strictSame(await seqs({ afterSeq: 147 }), [148, 149, 150]);
    t.strictSame(await seqs({ afterSeq: 10, limit: 3 }), [11, 12, 13]);
    t.strictSame(await seqs({ afterSeq: 150 }), []);
  });

  t.test('batch - a failing write fails only itself', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('taken', 'machine', {}, 0, T)]);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;

    const outcomes = await store.commit([
      save('m-1', 'machine', { n: 1 }, 0, T),
      putJob(job('bad-job', { params: { big: BigInt(1) } })),
      {
        kind: 'log.append',
        entries: [log('j-1', 1), log('j-1', 2, { data: cyclic })],
      },
      save('taken', 'machine', {}, 0, T),
      save('m-2', 'machine', cyclic, 0, T),
      putJob(job('j-1')),
      { kind: 'log.append', entries: [log('j-1', 5)] },
    ]);

    t.equal(outcomes.length, 7, 'one outcome per write');
    t.match(outcomes[0], { ok: true, object: { guid: 'm-1', version: 1 } });
    t.match(failure(t, outcomes[1], 'BAD_WRITE')?.message, /bad-job.*params/);
    t.match(failure(t, outcomes[2], 'BAD_WRITE')?.message, /j-1.*data/);
    failure(t, outcomes[3], 'CONFLICT');
    t.match(failure(t, outcomes[4], 'BAD_WRITE')?.message, 'm-2');
    t.strictSame(outcomes[5], { ok: true });
    t.strictSame(outcomes[6], { ok: true });

    t.match(await store.getObject('m-1'), { version: 1 });
    t.equal(await store.getObject('m-2'), null);
    t.equal(await store.getJob('bad-job'), null);
    t.match(await store.getJob('j-1'), { id: 'j-1' });
    t.strictSame(
      (await store.jobLogs('j-1')).map((entry) => entry.seq),
      [5],
      'a refused log write leaves none of its entries',
    );
  });

  t.test('batch - malformed writes are BAD_WRITE', async (t) => {
    const store = await open(t);
    const malformed = [
      { kind: 'object.rename', guid: 'a' },
      {
        kind: 'object.save',
        guid: '',
        type: 't',
        data: {},
        expectedVersion: 0,
        at: T,
      },
      {
        kind: 'object.save',
        guid: 'a',
        type: '',
        data: {},
        expectedVersion: 0,
        at: T,
      },
      {
        kind: 'object.save',
        guid: 'a',
        type: 't',
        data: [],
        expectedVersion: 0,
        at: T,
      },
      {
        kind: 'object.save',
        guid: 'a',
        type: 't',
        data: {},
        expectedVersion: -1,
        at: T,
      },
      {
        kind: 'object.save',
        guid: 'a',
        type: 't',
        data: {},
        expectedVersion: 0.5,
        at: T,
      },
      {
        kind: 'object.save',
        guid: 'a',
        type: 't',
        data: {},
        expectedVersion: 0,
      },
      { kind: 'object.delete', guid: 'a', expectedVersion: -2 },
      { kind: 'job.put', job: null },
      { kind: 'job.put', job: { ...job('j-1'), status: 'sleeping' } },
      { kind: 'job.put', job: { ...job('j-1'), id: 7 } },
      { kind: 'job.put', job: { ...job('j-1'), params: 'x' } },
      { kind: 'job.put', job: { ...job('j-1'), error: 'oops' } },
      { kind: 'job.put', job: { ...job('j-1'), parentId: 3 } },
      { kind: 'job.put', job: { ...job('j-1'), startedAt: 'now' } },
      { kind: 'job.put', job: { ...job('j-1'), result: () => 1 } },
      { kind: 'job.put', job: { ...job('j-1'), idempotencyKey: '' } },
      { kind: 'job.put', job: { ...job('j-1'), idempotencyKey: 42 } },
      {
        kind: 'job.put',
        job: { ...job('j-1'), idempotencyKey: 'k'.repeat(257) },
      },
      { kind: 'job.put', job: { ...job('j-1'), idempotencyKey: undefined } },
      { kind: 'job.put', job: { ...job('j-1'), owner: 7 } },
      { kind: 'job.put', job: { ...job('j-1'), owner: undefined } },
      { kind: 'log.append', entries: 'not a list' },
      { kind: 'log.append', entries: [null] },
      { kind: 'log.append', entries: [{ ...log('j-1', 1), seq: 0 }] },
      { kind: 'log.append', entries: [{ ...log('j-1', 1), level: 'loud' }] },
      { kind: 'log.append', entries: [{ ...log('j-1', 1), message: 4 }] },
      { kind: 'log.append', entries: [{ ...log('j-1', 1), at: 'later' }] },
    ] as unknown as Write[];

    const outcomes = await store.commit(malformed);

    t.equal(outcomes.length, malformed.length);
    outcomes.forEach((outcome, i) => {
      t.match(outcome, { ok: false, error: { code: 'BAD_WRITE' } }, `#${i}`);
    });
    t.strictSame(await store.findObjects(), []);
    t.strictSame(await store.listJobs(), []);
    t.strictSame(await store.jobLogs('j-1'), []);
  });

  t.test('batch - an empty batch commits nothing', async (t) => {
    const store = await open(t);
    t.strictSame(await store.commit([]), []);
  });

  t.test('store - close is idempotent, later calls reject', async (t) => {
    const store = await open(t);
    await commitOk(store, [save('m-1', 'machine', {}, 0, T)]);

    await store.close();
    await store.close();

    const closed = { code: 'STORE_CLOSED' };
    await t.rejects(store.commit([save('m-2', 'machine', {}, 0, T)]), closed);
    await t.rejects(store.getObject('m-1'), closed);
    await t.rejects(store.findObjects(), closed);
    await t.rejects(store.getJob('j-1'), closed);
    await t.rejects(store.getJobByKey('k-1'), closed);
    await t.rejects(store.listJobs(), closed);
    await t.rejects(store.jobTree('j-1'), closed);
    await t.rejects(store.jobLogs('j-1'), closed);
  });
}

export const T = 1_700_000_000_000;

export function save(
  guid: string,
  type: string,
  data: Record<string, unknown>,
  expectedVersion: number,
  at: number,
): Write {
  return { kind: 'object.save', guid, type, data, expectedVersion, at };
}

function del(guid: string, expectedVersion: number): Write {
  return { kind: 'object.delete', guid, expectedVersion };
}

export function job(id: string, fields: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    parentId: null,
    rootId: id,
    action: 'machine.start',
    target: null,
    params: {},
    status: 'waiting',
    result: undefined,
    error: null,
    maxDurationMs: null,
    idempotencyKey: null,
    owner: null,
    createdAt: T,
    startedAt: null,
    endedAt: null,
    ...fields,
  };
}

export function putJob(record: JobRecord): Write {
  return { kind: 'job.put', job: record };
}

export function log(
  jobId: string,
  seq: number,
  fields: Partial<JobLogEntry> = {},
): JobLogEntry {
  return {
    jobId,
    seq,
    at: T + seq,
    level: 'info',
    message: `line ${seq}`,
    ...fields,
  };
}

function withoutResult(
  record: JobRecord | null,
): Omit<JobRecord, 'result'> | null {
  if (!record) return null;
  const { result: _result, ...rest } = record;
  return rest;
}

/** Asserts the outcome failed with `code` and returns its error. */
function failure(t: Test, outcome: WriteOutcome | undefined, code: string) {
  t.match(outcome, { ok: false, error: { code } }, `fails with ${code}`);
  return outcome && !outcome.ok ? outcome.error : undefined;
}

function assertParentsFirst(t: Test, records: JobRecord[]): void {
  const seen = new Set<string>();
  for (const [i, record] of records.entries()) {
    if (i > 0) {
      t.ok(
        record.parentId !== null && seen.has(record.parentId),
        `${record.id} comes after its parent ${String(record.parentId)}`,
      );
    }
    seen.add(record.id);
  }
}
