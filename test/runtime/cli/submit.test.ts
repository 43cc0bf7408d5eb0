import { writeFileSync } from 'node:fs';

import t from 'tap';

import { natsServer } from '../../helpers/nats.js';
import { wfe } from './cli-io.js';
import { natsEngine } from './nats-engine.js';

const setup = await natsEngine(t);
const { engine, flag } = setup;

t.test('submit - prints the new job id and status on one line', async (t) => {
  const result = await wfe([
    'submit',
    'calc.add',
    '--params',
    '{"a":1,"b":2}',
    '--max-duration',
    '5000',
    ...flag,
  ]);

  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^\S+ (waiting|running|done)\n$/);
  const id = result.stdout.split(' ')[0]!;
  const job = await engine.wait(id);
  t.match(job, {
    action: 'calc.add',
    params: { a: 1, b: 2 },
    maxDurationMs: 5000,
    status: 'done',
    result: { sum: 3 },
  });
});

t.test('submit - takes the server from WFE_NATS_URL', async (t) => {
  const result = await wfe(['submit', 'calc.add', '--params', '{"a":1}'], {
    env: { WFE_NATS_URL: setup.nats.url },
  });

  t.equal(result.code, 0, result.stderr);
  const job = await engine.store.getJob(result.stdout.split(' ')[0]!);
  t.equal(job?.action, 'calc.add', 'recorded before the answer');
});

t.test('submit - the same --key gives the same job', async (t) => {
  const key = ['--key', `key-${process.pid}`];
  const first = await wfe(['submit', 'calc.add', ...key, ...flag]);
  const second = await wfe(['submit', 'calc.add', ...key, ...flag]);

  t.equal(first.code, 0, first.stderr);
  t.equal(second.code, 0, second.stderr);
  t.equal(second.stdout.split(' ')[0], first.stdout.split(' ')[0]);
});

t.test('submit - --wait prints the result as JSON and exits 0', async (t) => {
  const result = await wfe([
    'submit',
    'calc.add',
    '--params',
    '{"a":20,"b":22}',
    '--wait',
    ...flag,
  ]);

  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, '{\n  "sum": 42\n}\n');
});

t.test('submit - --wait on a failing action prints its error', async (t) => {
  const result = await wfe(['submit', 'calc.fail', '--wait', ...flag]);

  t.equal(result.code, 1);
  t.equal(result.stdout, '');
  t.match(
    result.stderr,
    /^wfe: calc\.fail error: CALC_FAILED: cannot divide by zero \(job \S+\)\n$/,
  );
});

t.test('submit - --wait gives up after --timeout seconds', async (t) => {
  const gate = setup.gate();
  const result = await wfe([
    'submit',
    'calc.parent',
    '--params',
    JSON.stringify({ gate }),
    '--wait',
    '--timeout',
    '1',
    ...flag,
  ]);
  writeFileSync(gate, '');

  t.equal(result.code, 1);
  t.match(result.stderr, /^wfe: BUS_TIMEOUT: no answer within 1 s; .*\n$/);
});

t.test('submit - the engine refuses a bad submission', async (t) => {
  const unknown = await wfe(['submit', 'calc.nothing', ...flag]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^wfe: ACTION_NOT_FOUND: .*calc\.nothing.*\n$/);

  const badKey = await wfe(['submit', 'calc.add', '--key', '', ...flag]);
  t.equal(badKey.code, 1);
  t.match(badKey.stderr, /^wfe: BAD_INPUT: .*idempotencyKey/);
});

t.test('submit - mistakes on the command line exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['calc.add', '--params', '{oops', ...flag], /--params is not valid JSON/],
    [['calc.add', '--params', '[1]', ...flag], /--params must be a JSON obj/],
    [['calc.add', '--max-duration', '0', ...flag], /--max-duration must be/],
    [['calc.add', '--timeout', 'soon', ...flag], /--timeout must be/],
    [['calc.add', '--timeout', '9999999', ...flag], /at most 2147483/],
    [[...flag], /missing argument <action>/],
    [['calc.add'], /give --nats URL or set WFE_NATS_URL/],
  ];
  for (const [argv, message] of cases) {
    const result = await wfe(['submit', ...argv]);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stderr, message);
    t.match(result.stderr, /\(see wfe submit --help\)\n$/);
  }

  const help = await wfe(['submit', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: wfe submit <action>/);
});

t.test('submit - an unreachable server fails with one line', async (t) => {
  const result = await wfe([
    'submit',
    'calc.add',
    '--nats',
    'nats://127.0.0.1:1',
  ]);

  t.equal(result.code, 1);
  t.match(
    result.stderr,
    /^wfe: NATS_UNREACHABLE: cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1\n$/,
  );
});

t.test('submit - a server without engines says so', async (t) => {
  const empty = await natsServer(t);
  const result = await wfe(['submit', 'calc.add', '--nats', empty.url]);

  t.equal(result.code, 1);
  t.match(
    result.stderr,
    /^wfe: NO_RESPONDERS: nothing serves wfe\.submit at .*is an engine running/,
  );
});

t.test('cancel - cancels a running job over NATS', async (t) => {
  const gate = setup.gate();
  const submitted = await wfe([
    'submit',
    'calc.parent',
    '--params',
    JSON.stringify({ gate }),
    ...flag,
  ]);
  const id = submitted.stdout.split(' ')[0]!;

  const result = await wfe(['cancel', id, '--reason', 'test', ...flag]);

  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, `${id} cancelling\n`);
  t.equal((await engine.wait(id)).status, 'cancelled');

  const unnamed = await wfe(['cancel', ...flag]);
  t.equal(unnamed.code, 2);
  const noServer = await wfe(['cancel', id]);
  t.equal(noServer.code, 2);
  t.match(noServer.stderr, /--nats URL or set WFE_NATS_URL/);
});
