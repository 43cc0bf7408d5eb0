import t from 'tap';

import { testEngine } from '../helpers/engine.js';

const RO = 'rootobject';

t.test('engine - tasklets run by priority and share params', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/order/make/a.mjs`]: `
      export const priority = 1;
      export function main(ctx) { ctx.params.trail.push('low'); }`,
    [`${RO}/order/make/b.mjs`]: `
      export const priority = 9;
      export function main(ctx) { ctx.params.trail = ['high']; }`,
    [`${RO}/order/make/c.mjs`]: `
      export const priority = 0;
      export function main(ctx) { return ctx.params.trail.join(','); }`,
  });

  const job = await engine.run({ action: 'order.make' });

  t.equal(job.status, 'done');
  t.equal(job.result, 'high,low');
  t.same(job.params, {}, 'the record keeps the params as submitted');
});

t.test('engine - stop, match and realizes shape the chain', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/vm/boot/1.mjs`]: `
      export const priority = 40;
      export const realizes = 'disk';
      export function main(ctx) { ctx.params.result = ['disk-a']; }`,
    [`${RO}/vm/boot/2.mjs`]: `
      export const priority = 30;
      export const realizes = 'disk';
      export function main(ctx) { ctx.params.result.push('disk-b'); }`,
    [`${RO}/vm/boot/3.mjs`]: `
      export const priority = 20;
      export function match(ctx) { return ctx.params.net === true; }
      export function main(ctx) { ctx.params.result.push('net'); }`,
    [`${RO}/vm/boot/4.mjs`]: `
      export const priority = 10;
      export function main(ctx) { ctx.params.result.push('cpu'); ctx.stop(); }`,
    [`${RO}/vm/boot/5.mjs`]: `
      export const priority = 0;
      export function main(ctx) { ctx.params.result.push('never'); }`,
  });

  const plain = await engine.run({ action: 'vm.boot' });
  const withNet = await engine.run({
    action: 'vm.boot',
    params: { net: true },
  });

  t.same(plain.result, ['disk-a', 'cpu']);
  t.same(withNet.result, ['disk-a', 'net', 'cpu']);
});

t.test('engine - bad submissions create nothing', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/thing/do/main.mjs`]: 'export function main() { return 1 }',
  });

  await t.rejects(engine.submit({ action: 'thing.undo' }), {
    code: 'ACTION_NOT_FOUND',
  });
  await t.rejects(engine.submit({ action: 'not an action' }), {
    code: 'BAD_ACTION',
  });
  await t.rejects(engine.submit({ action: 'thing.do', params: [1, 2] }), {
    code: 'BAD_PARAMS',
    message: /params of thing.do must be a JSON object, got an array/,
  });
  await t.rejects(engine.submit({ action: 'thing.do', params: 'x' }), {
    code: 'BAD_PARAMS',
  });
  await t.rejects(engine.submit({ action: 'thing.do', target: 5 }), {
    code: 'BAD_INPUT',
    message: /target/,
  });
  await t.rejects(engine.submit({ action: 'thing.do', maxDurationMs: -1 }), {
    code: 'BAD_INPUT',
    message: /maxDurationMs/,
  });
  await t.rejects(engine.submit(null), { code: 'BAD_INPUT' });
  await t.rejects(
    engine.submit({ action: 'thing.do', params: { n: 10n } }),
    { code: 'BAD_WRITE' },
    'params that cannot be stored are refused before anything runs',
  );

  t.same(await engine.store.listJobs(), [], 'no job was recorded');
  t.equal((await engine.run({ action: 'thing.do' })).result, 1);
});

t.test(
  'engine - a throwing tasklet fails its job, not the engine',
  async (t) => {
    const { engine } = await testEngine(t, {
      [`${RO}/pay/charge/main.mjs`]: `
      export function main() {
        throw Object.assign(new Error('card declined'), { code: 'DECLINED' });
      }`,
      [`${RO}/pay/refund/main.mjs`]: `
      export function main() { throw new TypeError('oops'); }`,
      [`${RO}/pay/ok/main.mjs`]: 'export function main() { return "fine" }',
    });

    const declined = await engine.run({ action: 'pay.charge' });
    const crashed = await engine.run({ action: 'pay.refund' });
    const fine = await engine.run({ action: 'pay.ok' });

    t.equal(declined.status, 'error');
    t.match(declined.error, { code: 'DECLINED', message: 'card declined' });
    t.match(declined.error, {
      details: { tasklet: 'rootobject/pay/charge/main.mjs' },
    });
    t.match(crashed.error, { code: 'TASKLET_FAILED', message: 'oops' });
    t.equal(fine.result, 'fine');
    t.equal((await engine.store.getJob(declined.id))?.status, 'error');
  },
);

t.test('engine - a child error reaches its parent, structured', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/order/place/main.mjs`]: `
      export async function main(ctx) {
        return ctx.actions.run('stock.reserve', { params: { sku: 'x' } });
      }`,
    [`${RO}/order/catch/main.mjs`]: `
      export async function main(ctx) {
        try { await ctx.actions.run('stock.reserve'); }
        catch (err) { return { code: err.code, retryable: err.retryable }; }
      }`,
    [`${RO}/stock/reserve/main.mjs`]: `
      export function main() {
        throw Object.assign(new Error('out of stock'), { code: 'NO_STOCK' });
      }`,
  });

  const placed = await engine.run({ action: 'order.place' });
  const caught = await engine.run({ action: 'order.catch' });
  const tree = await engine.store.jobTree(placed.id);

  t.equal(placed.status, 'error');
  t.equal(placed.error?.code, 'NO_STOCK');
  t.match(placed.error?.details, { action: 'stock.reserve' });
  t.same(caught.result, { code: 'NO_STOCK', retryable: false });
  t.equal(tree.length, 2);
  t.equal(tree[1]!.parentId, placed.id);
  t.equal(tree[1]!.rootId, placed.id);
  t.same(tree[1]!.params, { sku: 'x' });
});

t.test('engine - nested calls without waiting make child jobs', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/fleet/boot/main.mjs`]: `
      export async function main(ctx) {
        const a = await ctx.actions.start('vm.boot', { params: { n: 1 } });
        const b = await ctx.actions.start('vm.boot', { params: { n: 2 } });
        return [await a.result(), await b.result()];
      }`,
    [`${RO}/vm/boot/main.mjs`]: `
      export function main(ctx) { return ctx.params.n * 10; }`,
  });

  const job = await engine.run({ action: 'fleet.boot' });
  const children = await engine.store.listJobs({ parentId: job.id });

  t.same(job.result, [10, 20]);
  t.equal(children.length, 2);
  t.ok(children.every((c) => c.status === 'done'));
});

t.test('engine - roles grant different capabilities', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/box/sneak/main.mjs`]: `
      export function main(ctx) { return ctx.agents.run('local', 'x.sh'); }`,
    [`actor/hyper/peek/main.mjs`]: `
      export function main(ctx) { return ctx.drp.get('x'); }`,
    [`actor/hyper/call/main.mjs`]: `
      export function main(ctx) { return ctx.actions.run('box.sneak'); }`,
  });

  const sneak = await engine.run({ action: 'box.sneak' });
  const peek = await engine.run({ action: 'hyper.peek' });
  const call = await engine.run({ action: 'hyper.call' });

  t.match(sneak.error, {
    code: 'CAPABILITY_DENIED',
    message: /cannot use ctx.agents: only actor actions run rscripts/,
  });
  t.match(peek.error, {
    code: 'CAPABILITY_DENIED',
    message: /ctx.drp/,
  });
  t.match(call.error, { code: 'CAPABILITY_DENIED', message: /ctx.actions/ });
});

t.test('engine - a stale save is a CONFLICT', async (t) => {
  const { engine } = await testEngine(t, {
    [`${RO}/acct/race/main.mjs`]: `
      export async function main(ctx) {
        const acct = await ctx.drp.create('acct', { balance: 0 });
        await ctx.drp.save({ ...acct, data: { balance: 1 } });
        await ctx.drp.save({ ...acct, data: { balance: 2 } });
      }`,
  });

  const job = await engine.run({ action: 'acct.race' });
  const [acct] = await engine.store.findObjects({ type: 'acct' });

  t.match(job.error, { code: 'CONFLICT' });
  t.equal(acct?.version, 2);
  t.same(acct?.data, { balance: 1 }, 'the first save stands');
});
