import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MongoClient } from 'mongodb';
import t from 'tap';

import {
  startFerretDb,
  type MongoServer,
} from '../../../scripts/services/ferretdb.js';

const CLIENT_OPTIONS = { serverSelectionTimeoutMS: 5000 };

interface Doc {
  _id: string;
  n: number;
}

async function readDoc(url: string): Promise<Doc | null> {
  const client = await MongoClient.connect(url, CLIENT_OPTIONS);
  try {
    return await client.db('wfe_test').collection<Doc>('docs').findOne();
  } finally {
    await client.close();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('ferretdb - data survives a restart; stop ends it', async (t) => {
  const server: MongoServer = await startFerretDb();
  t.teardown(() => server.stop());
  t.equal(server.url, `mongodb://127.0.0.1:${server.port}/`);
  const firstPid = server.pid;

  const client = await MongoClient.connect(server.url, CLIENT_OPTIONS);
  await client
    .db('wfe_test')
    .collection<Doc>('docs')
    .insertOne({ _id: 'a', n: 1 });
  t.same(await readDoc(server.url), { _id: 'a', n: 1 }, 'it is stored');
  await client.close();

  await server.restart();
  t.not(server.pid, firstPid, 'a new process');
  t.ok(isRunning(server.pid), 'it runs');
  t.same(await readDoc(server.url), { _id: 'a', n: 1 }, 'it survived');

  const { pid, dir } = server;
  await server.stop();
  t.notOk(isRunning(pid), 'no process is left');
  t.notOk(existsSync(dir), 'the temp folder it made is gone');
});

t.test('ferretdb - a given folder survives a kill and a stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-ferretdb-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startFerretDb({ dir });
  t.equal(server.dir, dir);

  const client = await MongoClient.connect(server.url, CLIENT_OPTIONS);
  await client
    .db('wfe_test')
    .collection<Doc>('docs')
    .insertOne({ _id: 'b', n: 2 });
  await client.close();

  server.kill();
  await server.restart();
  t.same(await readDoc(server.url), { _id: 'b', n: 2 }, 'a crash keeps it');

  await server.stop();
  await server.stop();
  t.ok(existsSync(join(dir, 'state.json')), 'a given folder is kept');
});

t.test('ferretdb - a server that cannot start says why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-ferretdb-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'broken.sqlite'), 'not a database');

  await t.rejects(
    startFerretDb({ dir }),
    /ferretdb exited .*before it was ready[\s\S]*file is not a database/,
  );
});
