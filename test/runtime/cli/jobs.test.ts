import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';

import type { JobRecord } from '../../../runtime/drp/types.js';
import { formatDuration } from '../../../runtime/cli/jobs-show.js';
import { uniqueName, wfe, workspace } from './cli-io.js';

interface Listed {
  id: string;
  action: string;
  status: string;
  parentId: string | null;
}

// One store shared by the tests below: a created machine, started, and one
// failed create.
const dir = await workspace(t);
const data = ['--data', path.join(dir, 'data')];
const name = uniqueName('jobs');

const created = await wfe([
  'run',
  'machine.create',
  '--params',
  `{"name":"${name}"}`,
  ...data,
]);
const { guid } = JSON.parse(created.stdout) as { guid: string };
await wfe(['run', 'machine.start', '--target', guid, ...data]);
await wfe(['run', 'machine.create', '--params', '{"name":"NO"}', ...data]);

async function listed(argv: string[]): Promise<Listed[]> {
  const result = await wfe(['jobs', '--json', ...data, ...argv]);
  return result.stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Listed);
}

t.test('jobs - lists top-level jobs newest first as a table', async (t) => {
  const result = await wfe(['jobs', ...data]);

  t.equal(result.code, 0, result.stderr);
  const [header, ...rows] = result.stdout.trimEnd().split('\n');
  t.match(header, /^ID\s+STATUS\s+ACTION\s+CREATED\s+DURATION$/);
  t.equal(rows.length, 3);
  t.match(
    rows[0],
    /^\w+\s+error\s+machine\.create\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d+ms$/,
  );
  t.match(rows[1], /^\w+\s+done\s+machine\.start\s/);
  t.match(rows[2], /^\w+\s+done\s+machine\.create\s/);
  t.equal(header!.indexOf('STATUS'), rows[1]!.indexOf('done'), 'aligned');
});

t.test(
  'jobs - --json prints one job per line; filters narrow it',
  async (t) => {
    const all = await listed([]);
    t.same(
      all.map((job) => [job.action, job.status]),
      [
        ['machine.create', 'error'],
        ['machine.start', 'done'],
        ['machine.create', 'done'],
      ],
    );
    t.ok(all.every((job) => job.parentId === null));

    t.same(
      (await listed(['--status', 'error'])).map((job) => job.action),
      ['machine.create'],
    );
    t.same(
      (await listed(['--limit', '1'])).map((job) => job.status),
      ['error'],
    );
    t.same(
      (await listed(['--action', 'hypervisor.startVm'])).map(
        (job) => job.action,
      ),
      ['hypervisor.startVm'],
      'an action filter finds child jobs too',
    );
    t.equal(
      (await listed(['--all'])).length,
      5,
      'with the hypervisor and rscript jobs',
    );
  },
);

t.test('jobs - an empty result says so on stderr', async (t) => {
  const result = await wfe(['jobs', '--status', 'cancelled', ...data]);
  t.equal(result.code, 0);
  t.equal(result.stdout, '');
  t.equal(result.stderr, 'no jobs\n');
});

t.test('jobs - a folder without a store is a clear error', async (t) => {
  const empty = path.join(dir, 'empty');
  await mkdir(empty);

  const result = await wfe(['jobs', '--data', empty]);

  t.equal(result.code, 1);
  t.equal(result.stderr, `wfe: NO_DATA: no wfe data in ${empty}\n`);
});

t.test('jobs - an unknown --status exits 2', async (t) => {
  const result = await wfe(['jobs', '--status', 'finished', ...data]);
  t.equal(result.code, 2);
  t.match(
    result.stderr,
    /^wfe: --status must be one of waiting, running, done/,
  );
});

t.test(
  'jobs show - prints fields, result, tree and logs of the subtree',
  async (t) => {
    const [start] = await listed(['--action', 'machine.start']);

    const result = await wfe(['jobs', 'show', start!.id, ...data]);

    t.equal(result.code, 0, result.stderr);
    const out = result.stdout;
    t.match(
      out,
      new RegExp(
        `^job ${start!.id}\n  action    machine.start\n  status    done\n  target    ${guid}\n`,
      ),
    );
    t.match(out, /\nparams\n {2}\{\}\nresult\n {2}\{\n {4}"guid": /);
    t.match(
      out,
      /\ntree\n {2}machine\.start {2}done {2}\w+\n {4}hypervisor\.startVm {2}done {2}\w+\n {6}rscript:start-vm\.sh {2}done {2}\w+\n/,
    );
    t.match(
      out,
      /\nlogs\n {2}machine\.start \(\w+\)\n {4}\(none\)\n {4}hypervisor\.startVm/,
    );
    t.match(
      out,
      new RegExp(
        `\n        \\S+Z info  vm ${name} started \\{"stream":"stdout"\\}\n`,
      ),
    );
  },
);

t.test('jobs show - a failed job shows its error and its log', async (t) => {
  const [failed] = await listed(['--status', 'error']);
  const [create] = await listed([
    '--status',
    'done',
    '--action',
    'machine.create',
  ]);

  const shown = await wfe(['jobs', 'show', failed!.id, ...data]);
  t.equal(shown.code, 0);
  t.match(
    shown.stdout,
    /\nerror\n {2}BAD_PARAMS: params\.name must be .*\n {2}\{\n {4}"tasklet": /,
  );
  t.notMatch(shown.stdout, /\nresult\n/);

  const logged = await wfe(['jobs', 'show', create!.id, ...data]);
  t.match(logged.stdout, /info {2}machine created \{"guid":"\w+"\}\n/);
});

t.test(
  'jobs show - --json gives the job, its tree and logs by job',
  async (t) => {
    const [start] = await listed(['--action', 'machine.start']);

    const result = await wfe(['jobs', 'show', start!.id, '--json', ...data]);

    t.equal(result.code, 0);
    const document = JSON.parse(result.stdout) as {
      job: Listed;
      tree: Listed[];
      logs: Record<string, Array<{ message: string }>>;
    };
    t.equal(document.job.id, start!.id);
    t.same(
      document.tree.map((job) => job.action),
      ['machine.start', 'hypervisor.startVm', 'rscript:start-vm.sh'],
    );
    const script = document.tree[2]!.id;
    t.match(document.logs[script]![0]!.message, `vm ${name} started`);
  },
);

t.test('jobs show - an unknown id exits 1 with JOB_NOT_FOUND', async (t) => {
  const result = await wfe(['jobs', 'show', 'no-such-job', ...data]);
  t.equal(result.code, 1);
  t.equal(result.stderr, 'wfe: JOB_NOT_FOUND: no job with id no-such-job\n');
});

t.test('jobs - durations read as ms, seconds, or minutes', async (t) => {
  const job = (startedAt: number | null, endedAt: number | null) =>
    ({ startedAt, endedAt }) as JobRecord;
  t.equal(formatDuration(job(null, null)), '-');
  t.equal(formatDuration(job(1000, null)), '-', 'still running');
  t.equal(formatDuration(job(1000, 1250)), '250ms');
  t.equal(formatDuration(job(0, 12_345)), '12.3s');
  t.equal(formatDuration(job(0, 125_000)), '2m5s');
});
