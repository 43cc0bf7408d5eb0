import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { client } from '@xmpp/client';
import t from 'tap';

import { startProsody } from '../../../scripts/services/prosody.js';
import { prosodyServer, type ProsodyServer } from '../../helpers/prosody.js';

/** Logs in with PLAIN and out again; rejects if the server refuses. */
async function login(
  server: ProsodyServer,
  user: string,
  password: string,
): Promise<string> {
  const xmpp = client({
    service: server.url,
    domain: server.domain,
    credentials: (authenticate) =>
      authenticate({ username: user, password }, 'PLAIN'),
  });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  try {
    return (await xmpp.start()).toString();
  } finally {
    await xmpp.stop().catch(() => {});
  }
}

t.test('prosody - accounts, then a restart that keeps them', async (t) => {
  const server = await prosodyServer(t, {
    accounts: [{ user: 'alice', password: 'a-secret' }],
  });
  t.match(server.url, /^xmpp:\/\/127\.0\.0\.1:\d+$/);
  t.equal(server.url, `xmpp://127.0.0.1:${server.port}`);
  t.equal(server.domain, 'localhost');
  t.match(await login(server, 'alice', 'a-secret'), /^alice@localhost\//);

  await server.register('bob', 'b-secret');
  t.match(await login(server, 'bob', 'b-secret'), /^bob@localhost\//);
  await t.rejects(login(server, 'bob', 'wrong'), { name: 'SASLError' });

  const firstPid = server.pid;
  await server.restart();
  t.not(server.pid, firstPid, 'a new process');
  t.match(await login(server, 'alice', 'a-secret'), /^alice@/);
  t.match(await login(server, 'bob', 'b-secret'), /^bob@/, 'kept accounts');
});

t.test('prosody - a given folder and domain, kill, stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-prosody-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startProsody({ dir, domain: 'wfe.test' });
  t.equal(server.dir, dir);
  t.equal(server.domain, 'wfe.test');
  await server.register('carol', 'c-secret');
  t.match(await login(server, 'carol', 'c-secret'), /^carol@wfe\.test\//);

  server.kill();
  await server.restart();
  t.match(await login(server, 'carol', 'c-secret'), /^carol@wfe\.test\//);

  await server.stop();
  await server.stop();
  await t.rejects(login(server, 'carol', 'c-secret'), { code: 'ECONNREFUSED' });
  t.ok(existsSync(join(dir, 'prosody.cfg.lua')), 'a given folder is kept');
});

t.test('prosody - its own temp folder goes on stop', async (t) => {
  const server = await startProsody();
  t.ok(existsSync(server.dir));
  await server.stop();
  t.notOk(existsSync(server.dir));
});

t.test('prosody - a bad account says why', async (t) => {
  await t.rejects(
    startProsody({ accounts: [{ user: 'bad user@x', password: 'p' }] }),
    /prosodyctl .*register.* failed/,
  );
});
