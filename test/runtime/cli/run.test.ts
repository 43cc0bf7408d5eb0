import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';

import { uniqueName, wfe, workspace } from './cli-io.js';

t.test(
  'run - machine.create prints the result as JSON and exits 0',
  async (t) => {
    const dir = await workspace(t);
    const name = uniqueName('web');

    const result = await wfe([
      'run',
      'machine.create',
      '--params',
      JSON.stringify({ name }),
      '--data',
      path.join(dir, 'data'),
    ]);

    t.equal(result.code, 0, result.stderr);
    t.equal(result.stderr, '', 'warn level keeps a good run quiet');
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    t.match(output, { guid: String, name, status: 'stopped' });
    t.match(result.stdout, /^\{\n {2}"guid": /, 'pretty with 2 spaces');
  },
);

t.test(
  'run - a target and a child action run through the hypervisor script',
  async (t) => {
    const dir = await workspace(t);
    const data = ['--data', path.join(dir, 'data')];
    const name = uniqueName('db');
    const created = await wfe([
      'run',
      'machine.create',
      '--params',
      `{"name":"${name}"}`,
      ...data,
    ]);
    const { guid } = JSON.parse(created.stdout) as { guid: string };

    const started = await wfe([
      'run',
      'machine.start',
      '--target',
      guid,
      '--timeout',
      '30000',
      ...data,
    ]);

    t.equal(started.code, 0, started.stderr);
    t.match(JSON.parse(started.stdout), {
      guid,
      status: 'running',
      vm: { name, state: 'running', dir: path.join(dir, 'vms', name) },
    });
  },
);

t.test(
  'run - a failing job is one line with code, message and job id',
  async (t) => {
    const dir = await workspace(t);

    const result = await wfe(
      ['run', 'machine.create', '--params', '{"name":"Bad Name"}'],
      {
        env: { WFE_DATA_DIR: path.join(dir, 'data') },
      },
    );

    t.equal(result.code, 1);
    t.equal(result.stdout, '');
    t.match(
      result.stderr,
      /^wfe: machine\.create failed: BAD_PARAMS: params\.name must be .* \(job \w+\)\n$/,
    );
  },
);

t.test('run - an unknown action exits 1 with ACTION_NOT_FOUND', async (t) => {
  const dir = await workspace(t);

  const result = await wfe(['run', 'nothing.here'], { cwd: dir });

  t.equal(result.code, 1);
  t.match(result.stderr, /^wfe: ACTION_NOT_FOUND: .*nothing\.here/);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

t.test(
  'run - bad --params or --timeout exit 2 before any engine starts',
  async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--params', '{"name":'],
        /^wfe: --params is not valid JSON: .+ \(see wfe run --help\)\n$/,
      ],
      [
        ['--params', '[1]'],
        /^wfe: --params must be a JSON object, got an array \(see wfe run --help\)\n$/,
      ],
      [
        ['--params', '"x"'],
        /^wfe: --params must be a JSON object, got the string "x"/,
      ],
      [
        ['--timeout', 'soon'],
        /^wfe: --timeout must be a positive whole number, got 'soon'/,
      ],
      [['--timeout', '-5'], /^wfe: --timeout needs a value/],
      [
        ['--timeout=1.5'],
        /^wfe: --timeout must be a positive whole number, got '1.5'/,
      ],
    ];
    for (const [flags, stderr] of cases) {
      const result = await wfe(['run', 'machine.create', ...flags]);
      t.equal(result.code, 2, flags.join(' '));
      t.match(result.stderr, stderr);
    }
  },
);

t.test(
  'run - tasklet folders come from --tasklets, else WFE_TASKLETS',
  async (t) => {
    const dir = await workspace(t);
    for (const domain of ['one', 'two']) {
      const folder = path.join(dir, domain, 'rootobject', domain, 'hello');
      await mkdir(folder, { recursive: true });
      await writeFile(
        path.join(folder, '10-hello.ts'),
        `export const main = () => ({ from: '${domain}' });\n`,
      );
    }
    const env = {
      WFE_DATA_DIR: path.join(dir, 'data'),
      WFE_TASKLETS: [path.join(dir, 'one'), path.join(dir, 'two')].join(':'),
    };

    const fromEnv = await wfe(['run', 'two.hello'], { env });
    t.equal(fromEnv.code, 0, fromEnv.stderr);
    t.same(JSON.parse(fromEnv.stdout), { from: 'two' });

    const fromFlag = await wfe(['run', 'two.hello', '--tasklets', 'one'], {
      env,
      cwd: dir,
    });
    t.equal(fromFlag.code, 1, '--tasklets replaces the other folders');
    t.match(fromFlag.stderr, /ACTION_NOT_FOUND/);

    const examples = await wfe(['run', 'one.hello'], {
      env: { WFE_DATA_DIR: env.WFE_DATA_DIR },
    });
    t.equal(examples.code, 1, 'the default is the shipped examples');
    t.match(examples.stderr, /ACTION_NOT_FOUND/);
  },
);

t.test(
  'run - --verbose logs at info on stderr; WFE_LOG_LEVEL wins',
  async (t) => {
    const dir = await workspace(t);
    const argv = [
      'run',
      'machine.create',
      '--params',
      `{"name":"${uniqueName('v')}"}`,
      '--verbose',
    ];

    const verbose = await wfe(argv, {
      env: { WFE_DATA_DIR: path.join(dir, 'a') },
    });
    t.equal(verbose.code, 0);
    t.match(verbose.stderr, /"msg":"engine started"/);

    const silenced = await wfe(argv, {
      env: { WFE_DATA_DIR: path.join(dir, 'b'), WFE_LOG_LEVEL: 'error' },
    });
    t.equal(silenced.code, 0);
    t.equal(silenced.stderr, '');
  },
);
