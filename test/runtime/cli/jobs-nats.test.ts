import { writeFileSync } from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { wfe } from './cli-io.js';
import { natsEngine } from './nats-engine.js';

// One engine with a finished tree (parent and child), a failure and a
// plain job; the local listing of its store is what NATS must match.
const setup = await natsEngine(t);
const { engine, flag } = setup;
const data = ['--data', path.join(setup.dir, 'data')];

const gate = setup.gate();
writeFileSync(gate, '');
const tree = await engine.run({ action: 'calc.parent', params: { gate } });
const failed = await engine.run({ action: 'calc.fail' });
const added = await engine.run({ action: 'calc.add', params: { a: 1, b: 1 } });

t.test('jobs - lists over NATS exactly as from the store', async (t) => {
  for (const filters of [
    [],
    ['--all'],
    ['--status', 'error'],
    ['--action', 'calc.child'],
    ['--json', '--all'],
  ]) {
    const local = await wfe(['jobs', ...data, ...filters]);
    const remote = await wfe(['jobs', ...flag, ...filters]);

    t.equal(remote.code, 0, remote.stderr);
    t.equal(remote.stdout, local.stdout, filters.join(' ') || 'no filter');
  }

  const listed = await wfe(['jobs', ...flag]);
  t.match(listed.stdout, /^ID\s+STATUS\s+ACTION\s+CREATED\s+DURATION\n/);
  t.match(listed.stdout, new RegExp(`${added.id}\\s+done\\s+calc\\.add\\s`));
  t.notMatch(listed.stdout, /calc\.child/, 'top-level jobs only');
});

t.test('jobs - pages with --limit and --before', async (t) => {
  const first = await wfe(['jobs', '--limit', '2', ...flag]);

  t.equal(first.code, 0, first.stderr);
  t.equal(first.stdout.trimEnd().split('\n').length, 3, 'header and 2 jobs');
  t.equal(first.stderr, `more jobs: add --before ${failed.id}\n`);

  const rest = await wfe(['jobs', '--before', failed.id, ...flag]);
  t.equal(rest.code, 0, rest.stderr);
  t.match(rest.stdout, new RegExp(`${tree.id}\\s+done\\s+calc\\.parent`));
  t.equal(rest.stderr, '', 'the last page has no hint');

  const none = await wfe(['jobs', '--status', 'waiting', ...flag]);
  t.equal(none.stdout, '');
  t.equal(none.stderr, 'no jobs\n');
});

t.test('jobs - WFE_NATS_URL reads over NATS unless --data', async (t) => {
  const env = { WFE_NATS_URL: setup.nats.url };
  const remote = await wfe(['jobs', '--json'], { env });
  const local = await wfe(['jobs', '--json', ...data], { env });

  t.equal(remote.code, 0, remote.stderr);
  t.equal(remote.stdout.trimEnd().split('\n').length, 3);
  t.equal(local.stdout, remote.stdout);
});

t.test(
  'jobs show - prints a tree and its logs as from the store',
  async (t) => {
    for (const format of [[], ['--json']]) {
      const local = await wfe(['jobs', 'show', tree.id, ...data, ...format]);
      const remote = await wfe(['jobs', 'show', tree.id, ...flag, ...format]);

      t.equal(remote.code, 0, remote.stderr);
      t.equal(remote.stdout, local.stdout);
    }

    const shown = await wfe(['jobs', 'show', tree.id, ...flag]);
    t.match(shown.stdout, /^job \S+\n {2}action {4}calc\.parent\n/);
    t.match(shown.stdout, /info {2}parent ends\n/);
    t.match(shown.stdout, /warn {2}child done \{"gate":"open"\}\n/);
  },
);

t.test('jobs show - a job nobody knows', async (t) => {
  const result = await wfe(['jobs', 'show', 'nosuchjob', ...flag]);

  t.equal(result.code, 1);
  t.equal(result.stderr, 'wfe: JOB_NOT_FOUND: no job with id nosuchjob\n');
});

t.test('jobs - mistakes on the command line exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['jobs', ...flag, ...data], /give --nats .* or --data .*, not both/],
    [['jobs', 'show', 'x', ...flag, ...data], /not both/],
    [['jobs', '--follow', ...data], /--follow needs the engines/],
    [['jobs', 'show', 'x', '--follow'], /--follow needs the engines/],
    [['jobs', 'show', 'x', '--follow', '--json', ...flag], /not --json/],
    [['jobs', '--status', 'sleeping', ...flag], /--status must be one of/],
  ];
  for (const [argv, message] of cases) {
    const result = await wfe(argv);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stderr, message);
  }
});

t.test('jobs - an unreachable server fails with one line', async (t) => {
  const result = await wfe(['jobs', '--nats', 'nats://127.0.0.1:1']);

  t.equal(result.code, 1);
  t.match(result.stderr, /^wfe: NATS_UNREACHABLE: [^\n]+\n$/);
});
