import { chmodSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import {
  findBinary,
  freePort,
  launch,
  stopProcess,
  waitReady,
} from '../../../scripts/services/child-process.js';

t.test('child process - a missing binary names its package', async (t) => {
  t.throws(() => findBinary('wfe-no-such-server', 'wfe-server-pkg'), {
    message:
      /wfe-no-such-server is not installed: run `apt-get install wfe-server-pkg`/,
  });
  t.match(findBinary('sh', 'dash'), /\/sh$/, 'one on PATH is found');
});

t.test('child process - extra folders and an install hint', async (t) => {
  const dir = t.testdir({ 'wfe-extra-server': '#!/bin/sh\n' });
  chmodSync(join(dir, 'wfe-extra-server'), 0o755);
  const source = { folders: [dir], installHint: 'build it with go' };

  t.equal(
    findBinary('wfe-extra-server', source),
    join(dir, 'wfe-extra-server'),
  );
  t.throws(() => findBinary('wfe-no-such-server', source), {
    message: 'wfe-no-such-server is not installed: build it with go',
  });
});

t.test('child process - free ports are distinct loopback ports', async (t) => {
  const ports = await Promise.all([freePort(), freePort()]);
  t.ok(ports.every((port) => port > 0));
});

t.test('child process - an early exit is explained', async (t) => {
  const child = await launch('/bin/sh', ['-c', 'echo broken >&2; exit 3']);
  await t.rejects(
    waitReady('sh', child.process, async () => false, child.stderr),
    { message: /sh exited \(3\) before it was ready:\nbroken/ },
  );
});

t.test(
  'child process - stop ends a process that ignores SIGTERM',
  async (t) => {
    const child = await launch('/bin/sh', ['-c', "trap '' TERM; sleep 30"]);
    await waitReady('sh', child.process, async () => true, child.stderr);
    await stopProcess(child.process);
    t.not(child.process.signalCode ?? child.process.exitCode, null, 'it ended');
  },
);
