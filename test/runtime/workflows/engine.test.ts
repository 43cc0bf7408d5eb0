import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t, { type Test } from 'tap';

import { INSTANCE_TYPE } from '../../../runtime/workflows/snapshots.js';
import { testEngine, writeTree } from '../../helpers/engine.js';
import { instanceReaches } from '../../helpers/workflows.js';
import { wfe } from '../cli/cli-io.js';

const RO = 'rootobject';

/** Actions the workflows below call: each records its call in the DRP. */
const TASKLETS = {
  [`${RO}/step/echo/main.mjs`]: `
    export function main(ctx) { return { said: ctx.params.say ?? null }; }`,
  [`${RO}/step/flaky/main.mjs`]: `
    const tries = new Map();
    export function main(ctx) {
      const n = (tries.get(ctx.params.id) ?? 0) + 1;
      tries.set(ctx.params.id, n);
      if (n < ctx.params.failures + 1) {
        throw Object.assign(new Error('not yet'), {
          code: 'FLAKY', retryable: true,
        });
      }
      return n;
    }`,
  [`${RO}/step/fail/main.mjs`]: `
    export function main(ctx) {
      throw Object.assign(new Error('it broke'), { code: ctx.params.code });
    }`,
  [`${RO}/step/sleep/main.mjs`]: `
    export function main(ctx) {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, 60000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }`,
  [`${RO}/step/undo/main.mjs`]: `
    export async function main(ctx) {
      const all = (await ctx.drp.find({ type: 'undo' })).length;
      await ctx.drp.create('undo', { what: ctx.params.what }, 'undo-' + all);
    }`,
};

async function workflowEngine(t: Test, workflows: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'wfe-workflows-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeTree(root, workflows);
  return testEngine(t, TASKLETS, { workflowRoots: [root] });
}

t.test('a sequence with a choice ends in its final result', async (t) => {
  const { engine } = await workflowEngine(t, {
    'greet.yaml': `
name: greet
version: 1
implements: flow.greet
initial: hello
states:
  hello:
    action: step.echo
    input: { say: "'hi ' + params.name" }
    output: greeting
    next: pick
  pick:
    choose:
      - if: "ctx.greeting.said == 'hi ada'"
        next: known
      - next: stranger
  known:
    final: true
    result: "{'who': 'known', 'said': ctx.greeting.said}"
  stranger:
    final: true
    result: "{'who': 'stranger'}"
`,
  });

  const known = await engine.run({
    action: 'flow.greet',
    params: { name: 'ada' },
  });
  const other = await engine.run({
    action: 'flow.greet',
    params: { name: 'bob' },
  });

  t.equal(known.status, 'done', JSON.stringify(known.error));
  t.strictSame(known.result, { who: 'known', said: 'hi ada' });
  t.strictSame(other.result, { who: 'stranger' });
  const tree = await engine.store.jobTree(known.id);
  t.strictSame(
    tree.map((job) => job.action),
    ['flow.greet', 'step.echo'],
    'each step is a child job',
  );

  const instance = await engine.store.getObject(known.id);
  t.match(instance, {
    type: INSTANCE_TYPE,
    data: { workflow: 'greet', version: 1, states: ['known'], status: 'done' },
  });
  t.ok(instance!.version >= 2, 'saved as it ran, then at its end');
  t.strictSame(
    (instance!.data.history as Array<{ states: string[] }>).map(
      (step) => step.states,
    ),
    [['hello.attempt'], ['known']],
    'its history names every state it went through',
  );
});

t.test('jobs show tells where an instance is and has been', async (t) => {
  const { engine, dir } = await workflowEngine(t, {
    'wait.yaml': `
name: hold
version: 3
implements: flow.hold
initial: held
states:
  held:
    on: { go: done }
  done:
    final: true
`,
  });
  const job = await engine.submit({ action: 'flow.hold' });
  await instanceReaches(engine.store, job.id, 'held');

  const shown = await wfe([
    'jobs',
    'show',
    job.id,
    '--data',
    join(dir, 'data'),
  ]);

  t.equal(shown.code, 0, shown.stderr);
  t.match(
    shown.stdout,
    /workflow hold v3\n {2}now in {4}held\n {2}history\n {4}\S+Z {2}held\n/,
  );
  await engine.sendEvent(job.id, 'go');
  t.equal((await engine.wait(job.id)).status, 'done');
});

t.test('a child workflow runs as the action it implements', async (t) => {
  const { engine } = await workflowEngine(t, {
    'inner.yaml': `
name: inner
version: 1
implements: flow.inner
initial: echo
states:
  echo: { action: step.echo, input: { say: params.word }, output: e, next: end }
  end: { final: true, result: ctx.e.said }
`,
    'outer.yaml': `
name: outer
version: 1
implements: flow.outer
initial: call
states:
  call: { workflow: inner, input: { word: "'nested'" }, output: inner, next: end }
  end: { final: true, result: "'got ' + ctx.inner" }
`,
  });

  const job = await engine.run({ action: 'flow.outer' });

  t.equal(job.result, 'got nested', JSON.stringify(job.error));
  t.strictSame(
    (await engine.store.jobTree(job.id)).map((member) => member.action),
    ['flow.outer', 'flow.inner', 'step.echo'],
  );
});

t.test(
  'wait any ends with the first region; a slow step times out',
  async (t) => {
    const { engine } = await workflowEngine(t, {
      'race.yaml': `
name: race
version: 1
implements: flow.race
initial: race
states:
  race:
    wait: any
    parallel:
      quick:
        initial: q
        states:
          q: { action: step.echo, input: { say: "'quick'" }, output: quick, next: q_end }
          q_end: { final: true }
      slow:
        initial: s
        states:
          s: { delayMs: 60000, next: s_end }
          s_end: { final: true }
    next: slow_step
  slow_step:
    action: step.sleep
    timeoutMs: 50
    onError: { JOB_TIMEOUT: end }
    next: end
  end:
    final: true
    result: "[ctx.quick.said, error.code]"
`,
    });

    const job = await engine.run({ action: 'flow.race' });

    t.equal(job.status, 'done', JSON.stringify(job.error));
    t.strictSame(job.result, ['quick', 'JOB_TIMEOUT']);
  },
);

t.test('a bad or clashing definition is left out, the rest runs', async (t) => {
  const good = `
name: one
version: 1
implements: flow.one
initial: end
states:
  end: { final: true, result: "'one'" }
`;
  const { engine } = await workflowEngine(t, {
    'a-one.yaml': good,
    'b-one-again.yaml': good.replace('name: one', 'name: again'),
    'c-broken.yaml': good
      .replace('flow.one', 'flow.broken')
      .replace('initial: end', 'initial: nowhere'),
  });

  t.strictSame(engine.workflowActions(), ['flow.one']);
  t.equal((await engine.run({ action: 'flow.one' })).result, 'one');
  await t.rejects(engine.run({ action: 'flow.broken' }), {
    code: 'ACTION_NOT_FOUND',
  });
});

t.test('a flaky step is retried with backoff', async (t) => {
  const { engine } = await workflowEngine(t, {
    'retry.yaml': `
name: retry
version: 1
implements: flow.retry
initial: try
states:
  try:
    action: step.flaky
    input: { id: "'r1'", failures: "2" }
    output: tries
    retry: { attempts: 3, delayMs: 10, on: [FLAKY] }
    next: done
  done:
    final: true
    result: ctx.tries
`,
  });

  const job = await engine.run({ action: 'flow.retry' });

  t.equal(job.status, 'done', JSON.stringify(job.error));
  t.equal(job.result, 3);
  const attempts = (await engine.store.jobTree(job.id)).slice(1);
  t.strictSame(
    attempts.map((child) => [child.status, child.idempotencyKey]),
    [
      ['error', `${job.id}:try:1`],
      ['error', `${job.id}:try:2`],
      ['done', `${job.id}:try:3`],
    ],
  );
});

t.test('a failure routes by code, or compensates and fails', async (t) => {
  const { engine } = await workflowEngine(t, {
    'undo.yaml': `
name: undo
version: 1
implements: flow.undo
initial: first
states:
  first:
    action: step.echo
    input: { say: "'one'" }
    compensate: { action: step.undo, input: { what: "'first'" } }
    next: second
  second:
    action: step.echo
    compensate: { action: step.undo, input: { what: "'second'" } }
    next: breaks
  breaks:
    action: step.fail
    input: { code: params.code }
    onError:
      HANDLED: recovered
    next: recovered
  recovered:
    final: true
    result: "'recovered from ' + error.code"
`,
  });

  const handled = await engine.run({
    action: 'flow.undo',
    params: { code: 'HANDLED' },
  });
  t.equal(handled.result, 'recovered from HANDLED');
  t.strictSame(await engine.store.findObjects({ type: 'undo' }), []);

  const failed = await engine.run({
    action: 'flow.undo',
    params: { code: 'BROKEN' },
  });
  t.match(failed, { status: 'error', error: { code: 'BROKEN' } });
  const undone = await engine.store.findObjects({ type: 'undo' });
  t.strictSame(
    undone.map((object) => object.data.what),
    ['second', 'first'],
    'compensations ran in reverse order',
  );
});

t.test('a cancelled instance compensates, then ends cancelled', async (t) => {
  const { engine } = await workflowEngine(t, {
    'cancel.yaml': `
name: cancellable
version: 1
implements: flow.cancellable
initial: made
states:
  made:
    action: step.echo
    compensate: { action: step.undo, input: { what: "'made'" } }
    next: parked
  parked:
    on: { go: end }
  end:
    final: true
`,
  });
  const job = await engine.submit({ action: 'flow.cancellable' });
  await instanceReaches(engine.store, job.id, 'parked');

  await engine.cancel(job.id, 'not needed after all');
  const ended = await engine.wait(job.id);

  t.match(ended, {
    status: 'cancelled',
    error: { code: 'CANCELLED', message: /not needed after all/ },
  });
  const undone = await engine.store.findObjects({ type: 'undo' });
  t.strictSame(
    undone.map((object) => object.data.what),
    ['made'],
  );
  await t.rejects(engine.sendEvent(job.id, 'go'), { code: 'WORKFLOW_ENDED' });
});

t.test('events from outside move a waiting instance on', async (t) => {
  const { engine } = await workflowEngine(t, {
    'approve.yaml': `
name: approve
version: 1
implements: flow.approve
initial: waiting
states:
  waiting:
    on:
      approve:
        - if: "event.by == 'ops'"
          next: approved
        - next: waiting
      reject: rejected
    timeoutMs: 5000
    onTimeout: expired
  approved:
    final: true
    result: "'approved'"
  rejected:
    final: true
    error: { code: REJECTED, message: "somebody said no" }
  expired:
    final: true
    error: { code: EXPIRED }
`,
  });

  const submitted = await engine.submit({ action: 'flow.approve' });
  await instanceReaches(engine.store, submitted.id, 'waiting');
  await engine.sendEvent(submitted.id, 'approve', { by: 'intern' });
  await engine.sendEvent(submitted.id, 'approve', { by: 'ops' });
  const approved = await engine.wait(submitted.id);
  t.equal(approved.result, 'approved');

  await t.rejects(engine.sendEvent(submitted.id, 'approve'), {
    code: 'WORKFLOW_ENDED',
  });
  await t.rejects(engine.sendEvent('nope', 'approve'), { code: 'NOT_FOUND' });
  await t.rejects(engine.sendEvent(submitted.id, 'not an event!'), {
    code: 'BAD_EVENT',
  });

  const other = await engine.submit({ action: 'flow.approve' });
  await instanceReaches(engine.store, other.id, 'waiting');
  await engine.sendEvent(other.id, 'reject');
  t.match(await engine.wait(other.id), {
    status: 'error',
    error: { code: 'REJECTED', message: 'somebody said no' },
  });
});

t.test('delays and wait timeouts fire, regions run side by side', async (t) => {
  const { engine } = await workflowEngine(t, {
    'both.yaml': `
name: both
version: 1
implements: flow.both
initial: pause
states:
  pause:
    delayMs: 30
    next: fan
  fan:
    parallel:
      left:
        initial: l
        states:
          l: { action: step.echo, input: { say: "'left'" }, output: left, next: l_done }
          l_done: { final: true }
      right:
        initial: r
        states:
          r: { action: step.echo, input: { say: "'right'" }, output: right, next: r_done }
          r_done: { final: true }
    next: hold
  hold:
    on: { never: end }
    timeoutMs: 30
    onTimeout: end
  end:
    final: true
    result: "[ctx.left.said, ctx.right.said]"
`,
  });

  const started = Date.now();
  const job = await engine.run({ action: 'flow.both' });

  t.equal(job.status, 'done', JSON.stringify(job.error));
  t.strictSame(job.result, ['left', 'right']);
  t.ok(Date.now() - started >= 60, 'both waits were waited');
});
