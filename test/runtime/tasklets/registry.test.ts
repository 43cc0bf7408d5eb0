import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { silentLogger } from '../../../runtime/log.js';
import {
  createTaskletRegistry,
  type RegistryChange,
  type TaskletRegistry,
  type TaskletRegistryOptions,
} from '../../../runtime/tasklets/registry.js';
import type { TaskletContext } from '../../../runtime/tasklets/types.js';

const ctx = {} as TaskletContext;

function tasklet(value: string, priority = 0): string {
  return `export const priority = ${priority};
    export const main = () => ${JSON.stringify(value)};\n`;
}

async function open(
  t: Test,
  roots: string[],
  options: Partial<TaskletRegistryOptions> = {},
): Promise<TaskletRegistry> {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'wfe-test-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const registry = await createTaskletRegistry({
    roots,
    logger: silentLogger(),
    cacheDir,
    ...options,
  });
  t.teardown(() => registry.close());
  return registry;
}

function capturingLogger(): { logger: pino.Logger; lines: object[] } {
  const lines: object[] = [];
  const logger = pino(
    { level: 'error' },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}

// Polls instead of sleeping: file events arrive when the OS delivers them.
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function chainOf(registry: TaskletRegistry, action: string): unknown[] {
  try {
    return registry.resolve(action).tasklets.map((each) => each.main(ctx));
  } catch {
    return [];
  }
}

t.test('registry - resolves an action to its chain by priority', async (t) => {
  const root = t.testdir({
    rootobject: {
      machine: {
        create: {
          'b-low.ts': tasklet('b-low', -1),
          'c-high.ts': tasklet('c-high', 10),
          'a-mid.ts': tasklet('a-mid'),
          'd-mid.ts': tasklet('d-mid'),
        },
      },
    },
    actor: { hypervisor: { startVm: { 'start.ts': tasklet('start') } } },
  });
  const registry = await open(t, [root]);

  const create = registry.resolve('machine.create');
  t.match(create, { role: 'rootobject', domain: 'machine', action: 'create' });
  t.same(chainOf(registry, 'machine.create'), [
    'c-high',
    'a-mid',
    'd-mid',
    'b-low',
  ]);
  t.ok(Object.isFrozen(create.tasklets), 'callers cannot reorder a chain');

  t.match(registry.resolve('hypervisor.startVm'), { role: 'actor' });
  t.same(registry.actions(), ['hypervisor.startVm', 'machine.create']);
  t.same(registry.errors(), []);
});

t.test('registry - merges several roots', async (t) => {
  const parent = t.testdir({
    one: {
      rootobject: { machine: { create: { 'a.ts': tasklet('one', 1) } } },
    },
    two: {
      rootobject: { machine: { create: { 'a.ts': tasklet('two', 2) } } },
      misc: {
        'ping.ts': `export const tags = ['actor', 'net', 'ping'];
          ${tasklet('ping')}`,
      },
    },
  });
  const [one, two] = ['one', 'two'].map((name) => path.join(parent, name));
  const registry = await open(t, [one!, two!]);

  t.same(chainOf(registry, 'machine.create'), ['two', 'one']);
  t.same(chainOf(registry, 'net.ping'), ['ping']);
});

t.test('registry - an unknown action suggests close ones', async (t) => {
  const root = t.testdir({
    rootobject: {
      machine: {
        create: { 'a.ts': tasklet('a') },
        delete: { 'a.ts': tasklet('a') },
      },
    },
    actor: { disk: { wipe: { 'a.ts': tasklet('a') } } },
  });
  const registry = await open(t, [root]);

  t.throws(() => registry.resolve('machine.creat'), {
    code: 'ACTION_NOT_FOUND',
    message: /'machine\.creat'.*did you mean machine\.create/,
    details: { action: 'machine.creat', similar: ['machine.create'] },
  });
  t.throws(() => registry.resolve('machine.reboot'), {
    code: 'ACTION_NOT_FOUND',
    details: { similar: ['machine.create', 'machine.delete'] },
  });
  t.throws(() => registry.resolve('zebra.gallop'), {
    code: 'ACTION_NOT_FOUND',
    message: "unknown action 'zebra.gallop'",
    details: { similar: [] },
  });
});

t.test('registry - a malformed action name is BAD_ACTION', async (t) => {
  const registry = await open(t, [t.testdir({})]);

  for (const bad of ['create', 'a.b.c', '.create', 'machine.', '9a.b', '']) {
    t.throws(() => registry.resolve(bad), { code: 'BAD_ACTION' }, bad);
  }
  t.throws(() => registry.resolve('machine.cre ate'), {
    code: 'BAD_ACTION',
    details: { action: 'machine.cre ate' },
  });
});

t.test('registry - one action in both roles is ambiguous', async (t) => {
  const root = t.testdir({
    rootobject: { net: { ping: { 'a.ts': tasklet('ro') } } },
    actor: { net: { ping: { 'b.ts': tasklet('actor') } } },
  });
  const registry = await open(t, [root]);

  t.throws(() => registry.resolve('net.ping'), {
    code: 'ACTION_AMBIGUOUS',
    message: /'net\.ping' is defined both as a rootobject and an actor/,
  });
  t.same(registry.actions(), []);
  t.match(registry.errors(), [
    {
      code: 'TASKLET_INVALID',
      details: {
        action: 'net.ping',
        files: [
          path.join(root, 'actor/net/ping/b.ts'),
          path.join(root, 'rootobject/net/ping/a.ts'),
        ],
      },
    },
  ]);
});

t.test('registry - load errors are logged and valid files load', async (t) => {
  const root = t.testdir({
    rootobject: {
      machine: {
        create: { 'ok.ts': tasklet('ok'), 'bad.ts': 'export const x = 1;' },
      },
    },
  });
  const { logger, lines } = capturingLogger();
  const registry = await open(t, [root], { logger });

  t.same(chainOf(registry, 'machine.create'), ['ok']);
  t.match(registry.errors(), [{ code: 'TASKLET_INVALID' }]);
  t.match(lines, [
    {
      msg: 'tasklet invalid',
      file: path.join(root, 'rootobject/machine/create/bad.ts'),
      err: { code: 'TASKLET_INVALID', message: /bad\.ts: `main` is missing/ },
    },
  ]);

  await registry.reload();
  t.equal(lines.length, 1, 'an error already reported is not logged again');
});

t.test('registry - a missing root fails at start', async (t) => {
  const root = path.join(t.testdir({}), 'nope');
  await t.rejects(
    createTaskletRegistry({ roots: [root], logger: silentLogger() }),
    { code: 'TASKLET_ROOT_MISSING', details: { root } },
  );
});

t.test('registry - reload reports what changed', async (t) => {
  const root = t.testdir({
    rootobject: {
      machine: {
        create: { 'a.ts': tasklet('a'), 'b.ts': tasklet('b') },
      },
    },
  });
  const registry = await open(t, [root]);
  const changes: RegistryChange[] = [];
  const unsubscribe = registry.onChange((change) => changes.push(change));
  const dir = path.join(root, 'rootobject/machine/create');

  await writeFile(path.join(dir, 'a.ts'), tasklet('a2'));
  await rm(path.join(dir, 'b.ts'));
  await writeFile(path.join(dir, 'c.ts'), tasklet('c'));
  await writeFile(path.join(dir, 'd.ts'), 'export const main = (;');
  await registry.reload();

  t.same(changes, [{ added: 1, removed: 1, changed: 1, errors: 1 }]);
  t.same(chainOf(registry, 'machine.create'), ['a2', 'c']);

  await registry.reload();
  t.same(changes[1], { added: 0, removed: 0, changed: 0, errors: 1 });

  unsubscribe();
  await registry.reload();
  t.equal(changes.length, 2, 'an unsubscribed listener is not called');
});

t.test('registry - a throwing listener is logged', async (t) => {
  const root = t.testdir({});
  const { logger, lines } = capturingLogger();
  const registry = await open(t, [root], { logger });
  let called = 0;
  registry.onChange(() => {
    throw new Error('listener bug');
  });
  registry.onChange(() => called++);

  await registry.reload();
  t.equal(called, 1, 'the next listener still runs');
  t.match(lines, [
    { msg: 'registry listener threw', err: { message: 'listener bug' } },
  ]);
});

t.test('registry - a root removed after start is reported', async (t) => {
  const parent = t.testdir({
    root: { rootobject: { a: { b: { 'x.ts': tasklet('x') } } } },
  });
  const root = path.join(parent, 'root');
  const registry = await open(t, [root]);
  t.same(registry.actions(), ['a.b']);

  await rm(root, { recursive: true });
  await registry.reload();
  t.same(registry.actions(), []);
  t.match(registry.errors(), [{ code: 'TASKLET_ROOT_MISSING' }]);
});

t.test('registry - close is idempotent', async (t) => {
  const registry = await open(t, [t.testdir({})], { watch: true });
  const first = registry.close();
  t.equal(registry.close(), first, 'a second close waits on the first');
  await first;
});

t.test('registry - hot reload picks up add, change and remove', async (t) => {
  const root = t.testdir({
    rootobject: { machine: { create: { 'a.ts': tasklet('a1') } } },
  });
  const registry = await open(t, [root], { watch: true, debounceMs: 20 });
  const dir = path.join(root, 'rootobject/machine/create');
  t.same(chainOf(registry, 'machine.create'), ['a1']);

  await writeFile(path.join(dir, 'b.ts'), tasklet('b', -1));
  await until(
    () => chainOf(registry, 'machine.create').length === 2,
    'added file',
  );
  t.same(chainOf(registry, 'machine.create'), ['a1', 'b']);

  await writeFile(path.join(dir, 'a.ts'), tasklet('a2 changed'));
  await until(
    () => chainOf(registry, 'machine.create')[0] === 'a2 changed',
    'changed file',
  );
  t.pass('a changed file is picked up');

  await rm(path.join(dir, 'b.ts'));
  await until(
    () => chainOf(registry, 'machine.create').length === 1,
    'removed file',
  );
  t.same(chainOf(registry, 'machine.create'), ['a2 changed']);

  const newAction = path.join(root, 'actor', 'disk', 'wipe');
  await mkdir(newAction, { recursive: true });
  await writeFile(path.join(newAction, 'w.ts'), tasklet('w'));
  await until(
    () => registry.actions().includes('disk.wipe'),
    'file in new folders',
  );
  t.same(registry.actions(), ['disk.wipe', 'machine.create']);
});

t.test('registry - a file turned into a syntax error is dropped', async (t) => {
  const root = t.testdir({
    rootobject: {
      machine: {
        create: { 'a.ts': tasklet('a'), 'b.ts': tasklet('b', -1) },
      },
    },
  });
  const { logger, lines } = capturingLogger();
  const registry = await open(t, [root], {
    logger,
    watch: true,
    debounceMs: 20,
  });
  const file = path.join(root, 'rootobject/machine/create/a.ts');

  await writeFile(file, 'export const main = () => {\n  return (;\n};\n');
  // A write may be seen half done (an empty file); wait for the real one.
  const errorLine = () =>
    (registry.errors()[0]?.details as { line?: number } | undefined)?.line;
  await until(() => errorLine() === 2, 'syntax error');

  t.same(chainOf(registry, 'machine.create'), ['b'], 'a.ts is dropped');
  t.match(registry.errors(), [
    {
      code: 'TASKLET_INVALID',
      message:
        /^rootobject\/machine\/create\/a\.ts: does not compile \(line 2,/,
      details: { file, line: 2 },
    },
  ]);
  t.match(lines, [{ msg: 'tasklet invalid', file }]);

  await writeFile(file, tasklet('a fixed'));
  await until(
    () => chainOf(registry, 'machine.create')[0] === 'a fixed',
    'fixed file',
  );
  t.same(chainOf(registry, 'machine.create'), ['a fixed', 'b']);
  t.same(registry.errors(), []);
});
