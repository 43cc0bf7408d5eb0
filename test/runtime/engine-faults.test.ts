import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { SimulatedClock } from '../../runtime/clock.js';
import { createEngine } from '../../runtime/engine.js';
import { openSqliteStore } from '../../runtime/drp/sqlite-store.js';
import type { Store } from '../../runtime/drp/types.js';
import { silentLogger } from '../../runtime/log.js';
import { testEngine } from '../helpers/engine.js';

const RO = 'rootobject';

// Waits, in real time, until `check` holds; fails the test after `ms`.
async function until(check: () => boolean | Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('engine - a tasklet that blocks the loop is named', async (t) => {
  const { engine } = await testEngine(
    t,
    {
      [`${RO}/calc/spin/main.mjs`]: `
        export function main() {
          const end = Date.now() + 150;
          while (Date.now() < end) {}
          return 'spun';
        }`,
      [`${RO}/calc/late/main.mjs`]: `
        export async function main() {
          await new Promise((r) => setTimeout(r, 5));
          const end = Date.now() + 150;
          while (Date.now() < end) {}
        }`,
    },
    { blockThresholdMs: 60 },
  );

  const spin = await engine.run({ action: 'calc.spin' });
  const late = await engine.run({ action: 'calc.late' });
  await until(async () => (await engine.store.jobLogs(late.id)).length > 0);
  const spinLog = await engine.store.jobLogs(spin.id);
  const lateLog = await engine.store.jobLogs(late.id);

  t.equal(spin.result, 'spun', 'the job still completes');
  t.match(spinLog[0], {
    level: 'warn',
    message:
      /tasklet rootobject\/calc\/spin\/main.mjs blocked the event loop for \d+ ms/,
  });
  t.match(lateLog[0], {
    level: 'warn',
    message: /calc\/late\/main.mjs/,
    data: { tasklet: 'rootobject/calc/late/main.mjs' },
  });
});

t.test(
  'engine - a tasklet that never returns hits its max duration',
  async (t) => {
    const { engine } = await testEngine(t, {
      [`${RO}/wait/forever/main.mjs`]: `
      export function main() { return new Promise(() => {}); }`,
    });

    const job = await engine.run({ action: 'wait.forever', maxDurationMs: 50 });

    t.equal(job.status, 'error');
    t.match(job.error, { code: 'JOB_TIMEOUT', retryable: true });
    t.equal((await engine.store.getJob(job.id))?.status, 'error');
  },
);

t.test('engine - max duration follows the injected clock', async (t) => {
  const clock = new SimulatedClock(1_000_000);
  const { engine } = await testEngine(
    t,
    {
      [`${RO}/wait/forever/main.mjs`]: `
        export function main() { return new Promise(() => {}); }`,
    },
    { clock },
  );

  const submitted = await engine.submit({
    action: 'wait.forever',
    maxDurationMs: 60_000,
  });
  const ended = engine.wait(submitted.id);
  clock.advance(59_999);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(
    engine.store && (await engine.store.getJob(submitted.id))?.status,
    'running',
  );

  clock.advance(1);
  const job = await ended;

  t.match(job.error, { code: 'JOB_TIMEOUT' });
  t.equal(job.endedAt, 1_060_000);
});

t.test('engine - cancelling a job cancels its subtree', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/tree/top/main.mjs`]: `
      export async function main(ctx) {
        await ctx.actions.run('tree.mid');
      }`,
    [`${RO}/tree/mid/main.mjs`]: `
      export async function main(ctx) {
        await ctx.actions.run('tree.leaf');
      }`,
    [`${RO}/tree/leaf/main.mjs`]: `
      export function main(ctx) {
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      }`,
  });

  const top = await engine.submit({ action: 'tree.top' });
  await until(async () => (await engine.store.jobTree(top.id)).length === 3);
  await engine.cancel(top.id, 'operator asked');
  const final = await engine.wait(top.id);
  await until(async () =>
    (await engine.store.jobTree(top.id)).every((j) => j.status === 'cancelled'),
  );
  const tree = await engine.store.jobTree(top.id);

  t.equal(final.status, 'cancelled');
  t.match(final.error, { code: 'CANCELLED', message: /operator asked/ });
  t.same(
    tree.map((j) => j.status),
    ['cancelled', 'cancelled', 'cancelled'],
  );
  await t.rejects(engine.cancel(top.id), { code: 'JOB_FINISHED' });
  await t.rejects(engine.cancel('nope'), { code: 'NOT_FOUND' });
});

t.test('engine - CPU work runs in a worker thread', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/math/primes/main.mjs`]: `
      import { isMainThread } from 'node:worker_threads';
      export const worker = true;
      export function main(ctx) {
        let count = 0;
        for (let n = 2; n < ctx.params.below; n++) {
          let prime = true;
          for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
          if (prime) count++;
        }
        ctx.params.mainThread = isMainThread;
        ctx.log.info('counted', { count });
        return count;
      }`,
    [`${RO}/math/spin/main.mjs`]: `
      export const worker = true;
      export function main() { for (;;) {} }`,
    [`${RO}/math/drp/main.mjs`]: `
      export const worker = true;
      export function main(ctx) { return ctx.drp.get('x'); }`,
  });

  const primes = await engine.run({
    action: 'math.primes',
    params: { below: 10_000 },
  });
  const spin = await engine.run({ action: 'math.spin', maxDurationMs: 200 });
  const drp = await engine.run({ action: 'math.drp' });
  await until(async () => (await engine.store.jobLogs(primes.id)).length > 0);

  t.equal(primes.result, 1229);
  const logs = await engine.store.jobLogs(primes.id);
  t.match(
    logs.find((entry) => entry.message === 'counted'),
    { level: 'info', data: { count: 1229 } },
  );
  t.match(spin.error, { code: 'JOB_TIMEOUT' }, 'an endless loop is stopped');
  t.match(drp.error, { code: 'CAPABILITY_DENIED', message: /worker thread/ });
});

t.test('engine - a tasklet file with a syntax error is reported', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/bad/parse/main.ts`]: 'export function main( {',
    [`${RO}/good/run/main.ts`]: 'export const main = (): number => 2;',
  });

  const [error] = engine.registry!.errors();

  t.match(error, {
    code: 'TASKLET_INVALID',
    message: /bad\/parse\/main.ts: does not compile \(line 1/,
  });
  await t.rejects(engine.submit({ action: 'bad.parse' }), {
    code: 'ACTION_NOT_FOUND',
  });
  t.equal((await engine.run({ action: 'good.run' })).result, 2);
});

t.test('engine - jobs left running by a dead process are marked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = openSqliteStore({ path: join(dir, 'data', 'wfe.db') });
  const job = {
    id: 'job-1',
    parentId: null,
    rootId: 'job-1',
    action: 'machine.create',
    target: null,
    params: {},
    status: 'running' as const,
    result: null,
    error: null,
    maxDurationMs: null,
    idempotencyKey: null,
    owner: null,
    createdAt: 1,
    startedAt: 2,
    endedAt: null,
  };
  await store.commit([{ kind: 'job.put', job }]);
  await store.close();

  const engine = await createEngine({
    taskletRoots: [join(import.meta.dirname, '../../examples/tasklets')],
    dataDir: join(dir, 'data'),
    logger: silentLogger(),
  });
  const after = await engine.store.getJob('job-1');
  await engine.stop();

  t.equal(after?.status, 'error');
  t.match(after?.error, { code: 'INTERRUPTED', retryable: true });
});

t.test('engine - a writer that keeps crashing fails the engine', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = openSqliteStore({ path: ':memory:' });
  // A store that breaks its contract: no outcome for any write.
  const broken: Store = {
    kind: 'broken',
    commit: async () => [],
    getObject: (guid) => store.getObject(guid),
    findObjects: (query) => store.findObjects(query),
    getJob: (id) => store.getJob(id),
    getJobByKey: (key) => store.getJobByKey(key),
    listJobs: (query) => store.listJobs(query),
    jobTree: (id) => store.jobTree(id),
    jobLogs: (id, query) => store.jobLogs(id, query),
    close: () => store.close(),
  };
  const engine = await createEngine({
    taskletRoots: [join(import.meta.dirname, '../../examples/tasklets')],
    dataDir: join(dir, 'data'),
    store: broken,
    logger: silentLogger(),
  });
  t.teardown(() => engine.stop());

  for (let i = 0; i < 4; i++) {
    await t.rejects(
      engine.submit({ action: 'machine.create', params: { name: 'a' } }),
      { code: 'STORE_CONTRACT' },
      `write ${i + 1} is answered, not lost`,
    );
  }

  await t.rejects(engine.failed, {
    code: 'ENGINE_FAILED',
    message: /more than 3 restarts/,
  });
  await t.rejects(engine.submit({ action: 'machine.create' }), {
    code: 'SHUTTING_DOWN',
  });
});

t.test('engine - a failed engine still stops with jobs running', async (t) => {
  const store = openSqliteStore({ path: ':memory:' });
  let commits = 0;
  // Honest for the first write (the job's waiting record), broken after.
  const breaking: Store = {
    kind: 'breaking',
    commit: async (writes) => (++commits === 1 ? store.commit(writes) : []),
    getObject: (guid) => store.getObject(guid),
    findObjects: (query) => store.findObjects(query),
    getJob: (id) => store.getJob(id),
    getJobByKey: (key) => store.getJobByKey(key),
    listJobs: (query) => store.listJobs(query),
    jobTree: (id) => store.jobTree(id),
    jobLogs: (id, query) => store.jobLogs(id, query),
    close: () => store.close(),
  };
  const { engine } = await testEngine(
    t,
    {
      [`${RO}/wait/forever/main.mjs`]: `
        export function main() { return new Promise(() => {}); }`,
    },
    { store: breaking },
  );

  const job = await engine.submit({ action: 'wait.forever' });
  for (let i = 0; i < 4; i++) {
    await engine.submit({ action: 'wait.forever' }).catch(() => {});
  }
  await t.rejects(engine.failed, { code: 'ENGINE_FAILED' });
  const final = await engine.wait(job.id);
  await engine.stop();

  t.equal(final.status, 'cancelled', 'the running job was cancelled');
  t.match(final.error, { message: /the engine stopped/ });
});
