import { writeFileSync } from 'node:fs';
import os from 'node:os';

import t from 'tap';

import { main } from '../../../runtime/cli/main.js';
import { wfe } from './cli-io.js';
import { eventually, natsEngine } from './nats-engine.js';

const setup = await natsEngine(t);
const { engine, flag } = setup;

interface Running {
  stdout(): string;
  stderr(): string;
  exit: Promise<number>;
  stop(): void;
}

/** Runs `wfe` in the background; output can be read while it runs. */
function background(argv: string[]): Running {
  let stdout = '';
  let stderr = '';
  const stop = new AbortController();
  const exit = main(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: {},
    cwd: os.tmpdir(),
    stopSignal: stop.signal,
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    stop: () => stop.abort(),
  };
}

async function submitTree(gate: string): Promise<string> {
  const job = await engine.submit({ action: 'calc.parent', params: { gate } });
  return job.id;
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

t.test('jobs show --follow - streams a tree until its job ends', async (t) => {
  const gate = setup.gate();
  const id = await submitTree(gate);
  const follow = background(['jobs', 'show', id, '--follow', ...flag]);

  // The job as it is now comes first, then what happens.
  await eventually(() => follow.stdout().includes('\nlogs\n'));
  t.match(follow.stdout(), `job ${id}\n`);
  writeFileSync(gate, '');

  t.equal(await follow.exit, 0, follow.stderr());
  const output = follow.stdout();
  const child = (await engine.store.jobTree(id))[1]!;
  const stamp = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
  t.match(
    output,
    new RegExp(`\n${stamp}  ${child.id}  calc\\.child  warn child done`),
  );
  t.match(
    output,
    new RegExp(`\n${stamp}  ${child.id}  calc\\.child  done  \\d+ms\n`),
  );
  t.match(
    output,
    new RegExp(`\n${stamp}  ${id}  calc\\.parent  info parent ends\n`),
  );
  t.match(output, new RegExp(`\n${stamp}  ${id}  calc\\.parent  done  .*\n$`));
  t.equal(count(output, 'parent starts'), 1, 'no log line twice');
  t.equal(count(output, 'child waits'), 1, 'no log line twice');
  t.equal(count(output, 'child done'), 1);
});

t.test('jobs show --follow - a cancelled job exits 1', async (t) => {
  const gate = setup.gate();
  const id = await submitTree(gate);
  const follow = background(['jobs', 'show', id, '--follow', ...flag]);
  await eventually(() => follow.stdout().includes('\nlogs\n'));

  const cancelled = await wfe(['cancel', id, ...flag]);
  t.equal(cancelled.code, 0, cancelled.stderr);

  t.equal(await follow.exit, 1);
  t.match(follow.stdout(), new RegExp(`  ${id}  calc\\.parent  cancelled`));
  writeFileSync(gate, '');
});

t.test('jobs show --follow - a finished job prints and ends', async (t) => {
  const done = await engine.run({ action: 'calc.add', params: { a: 1, b: 2 } });
  const failed = await engine.run({ action: 'calc.fail' });

  const shownDone = await wfe(['jobs', 'show', done.id, '--follow', ...flag]);
  const shownFailed = await wfe([
    'jobs',
    'show',
    failed.id,
    '--follow',
    ...flag,
  ]);

  t.equal(shownDone.code, 0, shownDone.stderr);
  t.match(shownDone.stdout, /result\n {2}\{\n {4}"sum": 3\n/);
  t.equal(shownFailed.code, 1);
  t.match(shownFailed.stdout, /error\n {2}CALC_FAILED: cannot divide by zero/);
});

t.test('jobs show --follow - Ctrl-C ends it before the job', async (t) => {
  const gate = setup.gate();
  const id = await submitTree(gate);
  const follow = background(['jobs', 'show', id, '--follow', ...flag]);
  await eventually(() => follow.stdout().includes('\nlogs\n'));

  follow.stop();

  t.equal(await follow.exit, 130);
  t.equal(
    follow.stderr(),
    `wfe: stopped following job ${id}; it has not ended\n`,
  );
  writeFileSync(gate, '');
  await engine.wait(id);
});

t.test('jobs --follow - streams every job until stopped', async (t) => {
  const follow = background(['jobs', '--follow', ...flag]);
  await eventually(() => follow.stderr().includes('Ctrl-C'));

  const added = await engine.run({ action: 'calc.add', params: { a: 2 } });
  const failed = await engine.run({ action: 'calc.fail' });
  await eventually(() =>
    follow.stdout().includes(`${failed.id}  calc.fail  error`),
  );
  follow.stop();

  t.equal(await follow.exit, 0);
  const output = follow.stdout();
  t.match(output, new RegExp(`Z  ${added.id}  calc\\.add  waiting\n`));
  t.match(
    output,
    new RegExp(`Z  ${added.id}  calc\\.add  info adding {"a":2}\n`),
  );
  t.match(output, new RegExp(`Z  ${added.id}  calc\\.add  done  \\d+ms\n`));
  t.match(
    output,
    new RegExp(
      `Z  ${failed.id}  calc\\.fail  error  CALC_FAILED: cannot divide`,
    ),
  );
});
