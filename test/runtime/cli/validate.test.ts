import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { wfe, workspace } from './cli-io.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const DEPLOY = path.join(EXAMPLES, 'workflows', 'machine-deploy.yaml');
const TASKLETS = path.join(EXAMPLES, 'tasklets');

const GOOD = `name: flow
version: 3
initial: a
states:
  a:
    action: machine.create
    next: done
  done:
    final: true
`;

// Line 6 names an action no example tasklet has; line 7 a state that
// does not exist, which leaves 'done' unreached.
const BAD = `name: flow
version: 1
initial: a
states:
  a:
    action: machine.creat
    next: don
  done:
    final: true
`;

t.test('validate - a good file is ok on stdout, exit 0', async (t) => {
  const result = await wfe(['validate', DEPLOY]);

  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, `${DEPLOY}: ok (workflow machine-deploy v1)\n`);
  t.equal(result.stderr, '');
});

t.test('validate - files are named as given, relative to cwd', async (t) => {
  const dir = await workspace(t);
  await writeFile(path.join(dir, 'good.yaml'), GOOD);
  await writeFile(path.join(dir, 'bad.yaml'), BAD);

  const result = await wfe(['validate', 'good.yaml', 'bad.yaml'], {
    cwd: dir,
  });

  t.equal(result.code, 1);
  t.equal(result.stdout, 'good.yaml: ok (workflow flow v3)\n');
  t.equal(
    result.stderr,
    "bad.yaml:7:11: states.a.next: no state 'don' at the top level " +
      '(states: a, done)\n' +
      "bad.yaml:8:3: states.done: state 'done' is never reached from the " +
      "initial state 'a'\n",
  );
});

t.test('validate - --tasklets checks action names too', async (t) => {
  const dir = await workspace(t);
  await writeFile(path.join(dir, 'bad.yaml'), BAD);

  const result = await wfe(
    ['validate', 'bad.yaml', DEPLOY, '--tasklets', TASKLETS],
    { cwd: dir },
  );

  t.equal(result.code, 1);
  t.equal(result.stdout, `${DEPLOY}: ok (workflow machine-deploy v1)\n`);
  t.match(
    result.stderr,
    "bad.yaml:6:13: states.a.action: unknown action 'machine.creat': " +
      'no tasklet provides it\n',
  );
  t.equal(result.stderr.split('\n').length, 4, 'three errors');
});

t.test('validate - WFE_TASKLETS checks action names as well', async (t) => {
  const dir = await workspace(t);
  await writeFile(path.join(dir, 'bad.yaml'), BAD);

  const result = await wfe(['validate', 'bad.yaml'], {
    cwd: dir,
    env: { WFE_TASKLETS: TASKLETS },
  });

  t.equal(result.code, 1);
  t.match(result.stderr, /unknown action 'machine\.creat'/);
});

t.test(
  'validate - an unreadable file is an error, the rest go on',
  async (t) => {
    const dir = await workspace(t);
    await writeFile(path.join(dir, 'good.yaml'), GOOD);

    const result = await wfe(['validate', 'missing.yaml', 'good.yaml'], {
      cwd: dir,
    });

    t.equal(result.code, 1);
    t.equal(result.stderr, 'wfe: cannot read missing.yaml: no such file\n');
    t.equal(result.stdout, 'good.yaml: ok (workflow flow v3)\n');
  },
);

t.test('validate - usage: no files is exit 2; --help', async (t) => {
  const none = await wfe(['validate']);
  t.equal(none.code, 2);
  t.equal(
    none.stderr,
    'wfe: missing argument <file> (see wfe validate --help)\n',
  );

  const help = await wfe(['validate', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: wfe validate <file>\.\.\. \[flags\]/);
  t.match(help.stdout, /Flags:\n/);
  t.match(help.stdout, /Example:\n {2}wfe validate /);

  const listed = await wfe(['--help']);
  t.match(listed.stdout, /\n {2}validate {2}check workflow definition files\n/);
});
