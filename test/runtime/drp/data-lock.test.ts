import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  DATA_LOCK_FILE,
  acquireDataLock,
} from '../../../runtime/drp/data-lock.js';

/** The pid of a process that has run and exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('the child did not start');
  return child.pid;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function writeLock(dir: string, holder: unknown): void {
  writeFileSync(join(dir, DATA_LOCK_FILE), JSON.stringify(holder));
}

t.test('data lock - acquire writes who holds it', async (t) => {
  const dir = join(t.testdir(), 'missing', 'data');

  const lock = acquireDataLock(dir);
  t.teardown(() => lock.release());

  t.equal(lock.path, join(dir, DATA_LOCK_FILE));
  t.equal(lock.tookOverFrom, undefined);
  const holder = JSON.parse(readFileSync(lock.path, 'utf8'));
  t.match(holder, { pid: process.pid, hostname: hostname() });
  t.type(holder.startedAt, 'number');
});

t.test('data lock - a second acquire is DATA_DIR_LOCKED', async (t) => {
  const dir = t.testdir();
  const lock = acquireDataLock(dir);
  t.teardown(() => lock.release());

  t.throws(() => acquireDataLock(dir), {
    code: 'DATA_DIR_LOCKED',
    message: new RegExp(`${escape(dir)}.*pid ${process.pid}.*--data`),
    details: { dir, pid: process.pid },
  });
  t.ok(existsSync(lock.path), 'the holder keeps its lock');
});

t.test('data lock - a stale lock of a dead pid is taken over', async (t) => {
  const dir = t.testdir();
  const pid = await deadPid();
  writeLock(dir, { pid, hostname: hostname(), startedAt: 1 });

  const lock = acquireDataLock(dir);
  t.teardown(() => lock.release());

  t.equal(lock.tookOverFrom, pid);
  t.match(JSON.parse(readFileSync(lock.path, 'utf8')), { pid: process.pid });
});

t.test('data lock - a corrupt lock file is taken over', async (t) => {
  const dir = t.testdir({ [DATA_LOCK_FILE]: '{"pid": tru' });

  const lock = acquireDataLock(dir);
  t.teardown(() => lock.release());

  t.equal(lock.tookOverFrom, undefined);
  t.match(JSON.parse(readFileSync(lock.path, 'utf8')), { pid: process.pid });
});

t.test('data lock - a lock without a usable pid is taken over', async (t) => {
  for (const holder of [null, { pid: 0, hostname: hostname() }, { pid: 5 }]) {
    const dir = t.testdir();
    writeLock(dir, holder);

    const lock = acquireDataLock(dir);

    t.equal(lock.tookOverFrom, undefined, JSON.stringify(holder));
    lock.release();
  }
});

t.test('data lock - a lock from another host is respected', async (t) => {
  const dir = t.testdir();
  const pid = await deadPid();
  writeLock(dir, { pid, hostname: `not-${hostname()}`, startedAt: 1 });

  t.throws(() => acquireDataLock(dir), {
    code: 'DATA_DIR_LOCKED',
    message: new RegExp(`pid ${pid} on host not-`),
    details: { pid, hostname: `not-${hostname()}` },
  });
});

t.test('data lock - release then acquire works', async (t) => {
  const dir = t.testdir();
  const first = acquireDataLock(dir);

  first.release();
  first.release();

  t.notOk(existsSync(first.path), 'release removes the file');
  const second = acquireDataLock(dir);
  t.teardown(() => second.release());
  t.equal(second.tookOverFrom, undefined);
});

t.test('data lock - release leaves a lock that is not ours', async (t) => {
  const dir = t.testdir();
  const lock = acquireDataLock(dir);
  const other = { pid: 1, hostname: hostname(), startedAt: 2 };
  writeLock(dir, other);

  lock.release();

  t.strictSame(JSON.parse(readFileSync(lock.path, 'utf8')), other);
});

t.test('data lock - an unusable folder is DATA_DIR_ERROR', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a folder' });

  t.throws(() => acquireDataLock(join(dir, 'a-file')), {
    code: 'DATA_DIR_ERROR',
    details: { dir: join(dir, 'a-file') },
  });
  t.throws(() => acquireDataLock(join(dir, 'a-file', 'data')), {
    code: 'DATA_DIR_ERROR',
  });
});

t.test(
  'data lock - a lock path that is a folder is DATA_DIR_ERROR',
  async (t) => {
    const dir = t.testdir({ [DATA_LOCK_FILE]: { 'inside.txt': 'x' } });

    t.throws(() => acquireDataLock(dir), {
      code: 'DATA_DIR_ERROR',
      message: /cannot lock/,
    });
    t.ok(
      existsSync(join(dir, DATA_LOCK_FILE, 'inside.txt')),
      'nothing removed',
    );
  },
);
