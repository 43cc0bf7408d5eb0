import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { WfeError } from '../../../runtime/errors.js';
import {
  findTaskletFiles,
  loadRoot,
  type CompileCache,
  type LoadResult,
} from '../../../runtime/tasklets/loader.js';
import type { TaskletContext } from '../../../runtime/tasklets/types.js';

const ctx = {} as TaskletContext;
const MAIN = 'export const main = () => 1;\n';

async function load(
  t: Test,
  tree: Parameters<Test['testdir']>[0],
  cache?: CompileCache,
): Promise<LoadResult & { root: string; cacheDir: string }> {
  const root = t.testdir(tree);
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'wfe-test-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const result = await loadRoot(root, { cacheDir, cache });
  return { ...result, root, cacheDir };
}

function byName(result: LoadResult, name: string) {
  const tasklet = result.tasklets.find((each) => each.name === name);
  if (tasklet === undefined) throw new Error(`no tasklet ${name}`);
  return tasklet;
}

function messages(result: LoadResult): string[] {
  return result.errors.map((error) => error.message);
}

t.test('loader - default tags come from the layout', async (t) => {
  const result = await load(t, {
    rootobject: { machine: { create: { 'a.ts': MAIN } } },
    actor: { hypervisor: { startVm: { 'b.mjs': MAIN } } },
  });

  t.same(result.errors, []);
  const a = byName(result, 'rootobject/machine/create/a.ts');
  t.match(a, { role: 'rootobject', domain: 'machine', action: 'create' });
  t.match(a, { priority: 0, realizes: null, worker: false });
  t.equal(a.file, path.join(result.root, 'rootobject/machine/create/a.ts'));
  t.equal(a.main(ctx), 1);
  t.equal(a.match, undefined);

  const b = byName(result, 'actor/hypervisor/startVm/b.mjs');
  t.match(b, { role: 'actor', domain: 'hypervisor', action: 'startVm' });
});

t.test('loader - exported tags override the layout', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: {
          'moved.ts': `export const tags = ['actor', 'net', 'ping'];\n${MAIN}`,
        },
      },
    },
    misc: {
      'free.js': `export const tags = ['rootobject', 'disk', 'wipe_all'];
        export const priority = 5;
        export const realizes = 'disk.wiped';
        export const worker = true;
        export const match = () => true;
        ${MAIN}`,
    },
  });

  t.same(result.errors, []);
  const moved = byName(result, 'rootobject/machine/create/moved.ts');
  t.match(moved, { role: 'actor', domain: 'net', action: 'ping' });

  const free = byName(result, 'misc/free.js');
  t.match(free, { role: 'rootobject', domain: 'disk', action: 'wipe_all' });
  t.match(free, { priority: 5, realizes: 'disk.wiped', worker: true });
  t.equal(free.match?.(ctx), true);
});

t.test('loader - a file outside the layout needs tags', async (t) => {
  const result = await load(t, {
    'loose.ts': MAIN,
    rootobject: { machine: { 'shallow.ts': MAIN } },
    actor: { x: { y: { deeper: { 'z.ts': MAIN } } } },
    other: { machine: { create: { 'w.ts': MAIN } } },
  });

  t.same(result.tasklets, []);
  t.equal(result.errors.length, 4);
  for (const error of result.errors) {
    t.equal(error.code, 'TASKLET_INVALID');
    t.match(error.message, /outside the .* layout and exports no `tags`/);
  }
  t.match(messages(result), [/^actor\/x\/y\/deeper\/z\.ts: /, /^loose\.ts: /]);
});

t.test('loader - bad tags are reported', async (t) => {
  const bad = [
    `['rootobject', 'machine']`,
    `['robot', 'machine', 'create']`,
    `['actor', '', 'create']`,
    `['actor', 'machine', '9lives']`,
    `['actor', 'ma chine', 'create']`,
    `'actor machine create'`,
    `['actor', 'machine', 'create', 'extra']`,
  ];
  const files = Object.fromEntries(
    bad.map((tags, i) => [`t${i}.ts`, `export const tags = ${tags};${MAIN}`]),
  );
  const result = await load(t, {
    rootobject: { machine: { create: files } },
  });

  t.same(result.tasklets, []);
  t.equal(result.errors.length, bad.length);
  for (const error of result.errors) {
    t.equal(error.code, 'TASKLET_INVALID');
    t.match(error.message, /: `tags` must be \[role, domain, action\]/);
    t.match(error.details, { file: /\.ts$/, root: String });
  }
});

t.test('loader - main must be a function', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: {
          'none.ts': 'export const priority = 1;\n',
          'string.ts': "export const main = 'no';\n",
        },
      },
    },
  });

  t.same(result.tasklets, []);
  t.same(messages(result), [
    'rootobject/machine/create/none.ts: `main` is missing or not a function',
    'rootobject/machine/create/string.ts: `main` is missing or not a function',
  ]);
});

t.test('loader - bad optional exports are all named', async (t) => {
  const result = await load(t, {
    actor: {
      net: {
        ping: {
          'a.ts': `export const priority = '1';
            export const match = true;
            export const realizes = 3;
            export const worker = 'yes';
            ${MAIN}`,
          'b.ts': `export const priority = Infinity;\n${MAIN}`,
          'c.ts': `export const priority = NaN;\n${MAIN}`,
        },
      },
    },
  });

  t.same(result.tasklets, []);
  const [a, b, c] = result.errors;
  t.match(a?.message, /`priority` must be a finite number/);
  t.match(a?.message, /`match` must be a function/);
  t.match(a?.message, /`realizes` must be a string/);
  t.match(a?.message, /`worker` must be a boolean/);
  t.match(a?.details, { problems: { length: 4 } });
  t.match(b?.message, /b\.ts: `priority` must be a finite number/);
  t.match(c?.message, /c\.ts: `priority` must be a finite number/);
});

t.test('loader - a syntax error names the file, line and column', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: {
          'broken.ts': 'export const main = () => 1;\n\nconst = 2;\n',
          'ok.ts': MAIN,
        },
      },
    },
  });

  t.equal(result.tasklets.length, 1, 'the valid file still loads');
  const [error] = result.errors;
  t.ok(error instanceof WfeError);
  t.equal(error?.code, 'TASKLET_INVALID');
  t.match(
    error?.message,
    /^rootobject\/machine\/create\/broken\.ts: does not compile \(line 3, column 7\): /,
  );
  t.match(error?.details, {
    file: path.join(result.root, 'rootobject/machine/create/broken.ts'),
    line: 3,
    column: 7,
  });
});

t.test('loader - a syntax error in a helper names the helper', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: {
          'a.ts': "import { x } from './_helper.js';\nexport const main = x;\n",
          '_helper.ts': 'export const x = (;\n',
        },
      },
    },
  });

  t.match(messages(result), [
    /a\.ts: does not compile \(in rootobject\/machine\/create\/_helper\.ts, line 1, column \d+\)/,
  ]);
});

t.test('loader - a missing import is a compile error', async (t) => {
  const result = await load(t, {
    actor: {
      net: {
        ping: {
          'a.ts': "import 'no-such-package-wfe';\n" + MAIN,
          'b.ts': "import './_nope.js';\n" + MAIN,
        },
      },
    },
  });

  t.same(result.tasklets, []);
  t.match(messages(result), [
    /a\.ts: does not compile \(line 1, column \d+\): Could not resolve/,
    /b\.ts: does not compile \(line 1, column \d+\): Could not resolve/,
  ]);
});

t.test('loader - a module that throws while importing', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: { 'boom.ts': `throw new Error('kaboom');\n${MAIN}` },
      },
    },
  });

  t.same(result.tasklets, []);
  t.same(messages(result), [
    'rootobject/machine/create/boom.ts: throws while importing: kaboom',
  ]);
  t.match(result.errors[0]?.cause, { message: 'kaboom' });
});

t.test('loader - TypeScript with a relative helper import', async (t) => {
  const result = await load(t, {
    rootobject: {
      machine: {
        create: {
          'typed.ts': `
            import type { TaskletContext } from '../../../_lib/types.js';
            import { double } from '../../../_lib/math.js';
            import { suffix } from './_local.js';
            interface Answer { value: number; label: string }
            export const priority: number = 3;
            export function main(ctx: TaskletContext): Answer {
              return { value: double(ctx.n), label: 'x' + suffix };
            }
          `,
          '_local.ts': "export const suffix: string = '!';\n",
        },
      },
    },
    _lib: {
      'types.ts': 'export interface TaskletContext { n: number }\n',
      'math.ts': 'export const double = (n: number): number => n * 2;\n',
    },
  });

  t.same(result.errors, []);
  const typed = byName(result, 'rootobject/machine/create/typed.ts');
  t.equal(typed.priority, 3);
  t.same(typed.main({ n: 21 } as unknown as TaskletContext), {
    value: 42,
    label: 'x!',
  });
  t.equal(path.dirname(typed.compiledFile), result.cacheDir);
  t.match(path.basename(typed.compiledFile), /^[0-9a-f]{32}\.mjs$/);
  t.ok(existsSync(typed.compiledFile), 'workers can import the compiled file');
});

t.test('loader - packages are imported, not bundled', async (t) => {
  const result = await load(t, {
    actor: {
      log: {
        make: {
          'a.ts': `import { pino } from 'pino';
            import { sep } from 'node:path';
            import { EventEmitter } from 'events';
            export const main = () =>
              [typeof pino, sep, typeof EventEmitter].join(',');`,
        },
      },
    },
  });

  t.same(result.errors, []);
  t.equal(result.tasklets[0]?.main(ctx), 'function,/,function');
});

t.test('loader - files ignored by the rule', async (t) => {
  const action = {
    'real.ts': MAIN,
    'real.mts': MAIN,
    'real.js': MAIN,
    'real.mjs': MAIN,
    '_helper.ts': 'export const x = 1;\n',
    '.hidden.ts': 'not even javascript',
    'types.d.ts': 'export interface X { a: number }\n',
    'types.d.mts': 'export interface X { a: number }\n',
    'run.sh': '#!/bin/sh\necho hi\n',
    'run.py': 'print("hi")\n',
    'notes.md': '# notes\n',
    'data.json': '{}',
    'legacy.cjs': 'module.exports = {};\n',
    rscripts: { 'install.js': 'console.log("on the agent")\n' },
    _lib: { 'util.ts': 'not a tasklet' },
    '.git': { 'x.ts': 'not a tasklet' },
    node_modules: { dep: { 'index.js': 'not a tasklet' } },
  };
  const result = await load(t, {
    actor: { host: { setup: action } },
    rscripts: { 'top.mjs': 'not a tasklet' },
  });

  t.same(result.errors, []);
  t.same(
    result.tasklets.map((tasklet) => tasklet.name),
    ['real.js', 'real.mjs', 'real.mts', 'real.ts'].map(
      (file) => `actor/host/setup/${file}`,
    ),
  );
  t.same(
    (await findTaskletFiles(result.root)).map((file) => path.basename(file)),
    ['real.js', 'real.mjs', 'real.mts', 'real.ts'],
  );
});

t.test('loader - a missing root is an error', async (t) => {
  const root = path.join(t.testdir({ 'file.ts': MAIN }), 'nope');
  const missing = await loadRoot(root);
  t.same(missing.tasklets, []);
  t.match(missing.errors, [
    { code: 'TASKLET_ROOT_MISSING', details: { root } },
  ]);

  const notFolder = await loadRoot(path.join(root, '..', 'file.ts'));
  t.match(notFolder.errors, [{ code: 'TASKLET_ROOT_MISSING' }]);
});

t.test('loader - an empty root loads nothing', async (t) => {
  const result = await load(t, {});
  t.same(result.tasklets, []);
  t.same(result.errors, []);
});

t.test('loader - the cache skips unchanged files', async (t) => {
  const cache: CompileCache = new Map();
  const dir = 'rootobject/machine/create';
  const first = await load(
    t,
    {
      rootobject: {
        machine: {
          create: {
            'a.ts':
              "import { v } from './_v.js';\nexport const main = () => v;\n",
            '_v.ts': 'export const v = 1;\n',
            'b.ts': MAIN,
          },
        },
      },
    },
    cache,
  );
  const { cacheDir } = first;
  t.equal(byName(first, `${dir}/a.ts`).main(ctx), 1);
  const again = await loadRoot(first.root, { cacheDir, cache });
  t.equal(
    byName(again, `${dir}/b.ts`).main,
    byName(first, `${dir}/b.ts`).main,
    'an unchanged file is not compiled or imported again',
  );

  await writeFile(path.join(first.root, dir, '_v.ts'), 'export const v = 22;');
  const helperChanged = await loadRoot(first.root, { cacheDir, cache });
  t.same(helperChanged.errors, []);
  const a = byName(helperChanged, `${dir}/a.ts`);
  t.equal(a.main(ctx), 22, 'a changed helper recompiles its tasklet');
  t.not(a.compiledFile, byName(first, `${dir}/a.ts`).compiledFile);
});
