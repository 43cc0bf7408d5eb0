import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect } from 'nats';
import t from 'tap';

import { startNatsServer } from '../../../scripts/services/nats-server.js';
import { natsServer } from '../../helpers/nats.js';

t.test('nats server - JetStream data survives a restart', async (t) => {
  const server = await natsServer(t);
  t.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  const firstPid = server.pid;

  const nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
  await nc.jetstream().publish('keep.one', new TextEncoder().encode('1'));
  await nc.close();

  await server.restart();
  t.not(server.pid, firstPid, 'a new process');
  t.equal(server.url, `nats://127.0.0.1:${server.port}`, 'same port');

  const again = await connect({ servers: server.url });
  t.teardown(() => again.close());
  const info = await (await again.jetstreamManager()).streams.info('KEEP');
  t.equal(info.state.messages, 1);
});

t.test('nats server - a given folder, a payload limit, kill', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-nats-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startNatsServer({
    dir,
    jetstream: false,
    maxPayload: 1024,
  });

  const nc = await connect({ servers: server.url });
  t.equal(nc.info?.max_payload, 1024);
  t.equal(nc.info?.jetstream ?? false, false, 'no JetStream when off');
  await nc.close();

  server.kill();
  await server.restart();
  const again = await connect({ servers: server.url });
  await again.close();

  await server.stop();
  await server.stop();
  t.ok(existsSync(join(dir, 'nats.conf')), 'a given folder is kept');
});

t.test('nats server - a server that cannot start says why', async (t) => {
  const started = startNatsServer({
    jetstream: false,
    maxPayload: 100_000_000,
  });
  await t.rejects(started, /exited .*before it was ready[\s\S]*max_payload/);
});
