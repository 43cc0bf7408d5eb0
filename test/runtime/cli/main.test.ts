import t from 'tap';

import { wfe } from './cli-io.js';

t.test('help - wfe --help, -h and help list every command', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const result = await wfe(argv);
    t.equal(result.code, 0, argv.join(' '));
    t.match(result.stdout, /^Usage: wfe <command>/);
    t.match(
      result.stdout,
      /run .*\n.*jobs .*\n.*start .*\n.*submit .*\n.*cancel /,
    );
    t.match(result.stdout, /Examples?:/);
    t.equal(result.stderr, '');
  }
});

t.test(
  'help - every command answers --help with usage, flags, example',
  async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['run', '--help'], /^Usage: wfe run <action>/],
      [['run', '-h'], /^Usage: wfe run <action>/],
      [['jobs', '--help'], /^Usage: wfe jobs \[flags\]/],
      [['jobs', 'show', '--help'], /^Usage: wfe jobs show <id>/],
      [['start', '--help'], /^Usage: wfe start/],
      [['help', 'run'], /^Usage: wfe run <action>/],
      [['help', 'start'], /^Usage: wfe start/],
      [['submit', '--help'], /^Usage: wfe submit <action>/],
      [['help', 'cancel'], /^Usage: wfe cancel <id>/],
    ];
    for (const [argv, usage] of cases) {
      const result = await wfe(argv);
      t.equal(result.code, 0, argv.join(' '));
      t.match(result.stdout, usage);
      t.match(result.stdout, /Flags:\n/);
      t.match(result.stdout, /Examples?:\n {2}wfe /);
    }
  },
);

t.test('help - no command prints the help on stderr and exits 2', async (t) => {
  const result = await wfe([]);
  t.equal(result.code, 2);
  t.equal(result.stdout, '');
  t.match(result.stderr, /^Usage: wfe <command>/);
});

t.test('version - prints the package version', async (t) => {
  const result = await wfe(['--version']);
  t.equal(result.code, 0);
  t.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('usage - mistakes are one line on stderr and exit 2', async (t) => {
  const cases: Array<[string[], string]> = [
    [['frob'], "wfe: unknown command 'frob' (see wfe --help)\n"],
    [['--frob'], 'wfe: unknown flag --frob (see wfe --help)\n'],
    [['help', 'frob'], "wfe: unknown command 'frob' (see wfe --help)\n"],
    [['help', 'run', 'x'], "wfe: unexpected argument 'x' (see wfe --help)\n"],
    [
      ['run', 'a.b', '--bogus'],
      'wfe: unknown flag --bogus (see wfe run --help)\n',
    ],
    [['run', 'a.b', '-x'], 'wfe: unknown flag -x (see wfe run --help)\n'],
    [['run'], 'wfe: missing argument <action> (see wfe run --help)\n'],
    [
      ['run', 'a.b', 'c'],
      "wfe: unexpected argument 'c' (see wfe run --help)\n",
    ],
    [
      ['run', 'a.b', '--data'],
      'wfe: --data needs a value (see wfe run --help)\n',
    ],
    [
      ['run', 'a.b', '--verbose=yes'],
      'wfe: --verbose takes no value (see wfe run --help)\n',
    ],
    [
      ['jobs', 'extra'],
      "wfe: unexpected argument 'extra' (see wfe jobs --help)\n",
    ],
    [
      ['jobs', '--limit', '0'],
      "wfe: --limit must be a positive whole number, got '0' (see wfe jobs --help)\n",
    ],
    [
      ['jobs', 'show'],
      'wfe: missing argument <id> (see wfe jobs show --help)\n',
    ],
    [
      ['start', 'now'],
      "wfe: unexpected argument 'now' (see wfe start --help)\n",
    ],
  ];
  for (const [argv, stderr] of cases) {
    const result = await wfe(argv);
    t.equal(result.code, 2, argv.join(' '));
    t.equal(result.stderr, stderr, argv.join(' '));
    t.equal(result.stdout, '');
  }
});

t.test(
  'usage - a value that looks like a flag is refused plainly',
  async (t) => {
    const result = await wfe(['run', 'a.b', '--data', '--verbose']);
    t.equal(result.code, 2);
    t.match(
      result.stderr,
      /^wfe: --data needs a value; .* write --data=--verbose/,
    );
    t.equal(result.stderr.split('\n').length, 2, 'one line');
  },
);

t.test(
  'errors - an unexpected error is an internal error, no stack',
  async (t) => {
    const boom = () => {
      throw new Error('stdout is gone');
    };
    const quiet = await wfe(['--version'], { stdout: boom });
    t.equal(quiet.code, 1);
    t.equal(quiet.stderr, 'wfe: internal error: stdout is gone\n');

    const debug = await wfe(['--version'], {
      stdout: boom,
      env: { WFE_LOG_LEVEL: 'debug' },
    });
    t.equal(debug.code, 1);
    t.match(
      debug.stderr,
      /^wfe: internal error: stdout is gone\nError: stdout is gone\n\s+at /,
    );
  },
);

t.test(
  'errors - a thrown non-Error is reported as an internal error',
  async (t) => {
    const result = await wfe(['--version'], {
      stdout: () => {
        throw 'plain string';
      },
    });
    t.equal(result.code, 1);
    t.equal(result.stderr, 'wfe: internal error: plain string\n');
  },
);
