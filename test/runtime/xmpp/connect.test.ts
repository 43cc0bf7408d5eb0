import { connect as connectTcp, createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';

import { xml } from '@xmpp/client';
import t, { type Test } from 'tap';

import { silentLogger } from '../../../runtime/log.js';
import {
  connectXmpp,
  type XmppConnection,
  type XmppOptions,
} from '../../../runtime/xmpp/connect.js';
import { prosodyServer } from '../../helpers/prosody.js';

const NS = 'urn:wfe:test';

const accounts = [
  { user: 'engine', password: 'engine-secret' },
  { user: 'agent', password: 'agent-secret' },
];

async function connect(t: Test, options: XmppOptions): Promise<XmppConnection> {
  const connection = await connectXmpp(options, silentLogger());
  t.teardown(() => connection.stop());
  return connection;
}

/** A loopback port with nothing listening on it. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error('waitFor timed out'));
      setTimeout(poll, 20);
    };
    poll();
  });
}

t.test('xmpp connect - logs in with PLAIN on loopback', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const connection = await connect(t, {
    url: server.url,
    jid: 'engine@localhost',
    password: 'engine-secret',
  });
  t.equal(connection.mechanism, 'PLAIN');
  t.match(connection.jid, /^engine@localhost\/wfe-[0-9a-f]{8}$/);
  t.equal(connection.client.status, 'online');

  await connection.stop();
  await connection.stop();
  t.equal(connection.client.status, 'offline');
});

t.test('xmpp connect - a resource from the jid or the option', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const fromJid = await connect(t, {
    url: server.url,
    jid: 'engine@localhost/main',
    password: 'engine-secret',
  });
  t.equal(fromJid.jid, 'engine@localhost/main');
  const fromOption = await connect(t, {
    url: server.url.replace('127.0.0.1', 'localhost'),
    jid: 'agent@localhost/ignored',
    password: 'agent-secret',
    resource: 'worker-1',
  });
  t.equal(fromOption.jid, 'agent@localhost/worker-1');
});

t.test('xmpp connect - a wrong password is XMPP_AUTH', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const err = await connectXmpp(
    { url: server.url, jid: 'engine@localhost', password: 'wrong-secret' },
    silentLogger(),
  ).catch((e: unknown) => e);
  t.match(err, {
    name: 'WfeError',
    code: 'XMPP_AUTH',
    retryable: false,
    details: { jid: 'engine@localhost', condition: 'not-authorized' },
  });
  t.match((err as Error).message, /engine@localhost/);
  t.notMatch((err as Error).message, /wrong-secret/, 'no password');
});

t.test('xmpp connect - a closed port is XMPP_UNREACHABLE', async (t) => {
  const port = await closedPort();
  const url = `xmpp://127.0.0.1:${port}`;
  await t.rejects(
    connectXmpp(
      { url, jid: 'engine@localhost', password: 'p', timeoutMs: 60_000 },
      silentLogger(),
    ),
    { code: 'XMPP_UNREACHABLE', retryable: true, details: { url } },
  );
});

t.test('xmpp connect - a silent server is XMPP_UNREACHABLE', async (t) => {
  const accepted: Socket[] = [];
  const silent = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of accepted) socket.destroy();
    silent.close();
  });
  const address = silent.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  await t.rejects(
    connectXmpp(
      {
        url: `xmpp://127.0.0.1:${port}`,
        jid: 'engine@localhost',
        password: 'p',
        timeoutMs: 300,
      },
      silentLogger(),
    ),
    { code: 'XMPP_UNREACHABLE', retryable: true },
  );
});

t.test('xmpp connect - plaintext off loopback is refused', async (t) => {
  await t.rejects(
    connectXmpp(
      {
        url: 'xmpp://example.invalid:5222',
        jid: 'engine@example.invalid',
        password: 'p',
        timeoutMs: 60_000,
      },
      silentLogger(),
    ),
    { code: 'XMPP_INSECURE', message: /xmpps:\/\// },
  );
});

t.test('xmpp connect - no STARTTLS offered, no password sent', async (t) => {
  const server = await prosodyServer(t, { accounts });
  // The machine's own name does not count as loopback, so only TLS could
  // make PLAIN safe; this prosody offers none. A proxy on all interfaces
  // reaches it whatever address the name resolves to.
  const sockets: Socket[] = [];
  const proxy = createServer((inbound) => {
    const outbound = connectTcp(server.port, '127.0.0.1');
    sockets.push(inbound, outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    proxy.close();
  });
  const address = proxy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `xmpp://${hostname()}:${port}`;

  await t.rejects(
    connectXmpp(
      {
        url,
        jid: 'engine@localhost',
        password: 'engine-secret',
        starttls: true,
      },
      silentLogger(),
    ),
    { code: 'XMPP_INSECURE', details: { url } },
  );
  t.ok(sockets.length > 0, 'it did connect: the refusal came at login');
});

t.test('xmpp connect - bad urls, jids and timeouts', async (t) => {
  const good = { url: 'xmpp://127.0.0.1:1', jid: 'a@b', password: 'p' };
  const bad: Array<Partial<XmppOptions>> = [
    { url: 'http://127.0.0.1:5222' },
    { url: 'not a url' },
    { url: 'xmpp://' },
    { jid: 'no-domain' },
    { jid: 'a@b@c' },
    { jid: '@b' },
    { timeoutMs: 0 },
    { timeoutMs: Number.NaN },
  ];
  for (const change of bad) {
    await t.rejects(
      connectXmpp({ ...good, ...change }, silentLogger()),
      { code: 'BAD_CONFIG' },
      JSON.stringify(change),
    );
  }
});

t.test('xmpp connect - a CA file needs TLS it can reach', async (t) => {
  await t.rejects(
    connectXmpp(
      {
        url: 'xmpp://xmpp.example.invalid',
        jid: 'a@example.invalid',
        password: 'p',
        starttls: true,
        caFile: '/nonexistent/ca.pem',
      },
      silentLogger(),
    ),
    { code: 'BAD_CONFIG', message: /NODE_EXTRA_CA_CERTS/ },
  );
  await t.rejects(
    connectXmpp(
      {
        url: 'xmpps://xmpp.example.invalid',
        jid: 'a@example.invalid',
        password: 'p',
        caFile: '/nonexistent/ca.pem',
      },
      silentLogger(),
    ),
    { code: 'BAD_CONFIG', message: /\/nonexistent\/ca\.pem/ },
  );
});

t.test('xmpp connect - an iq round trip between full jids', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const engine = await connect(t, {
    url: server.url,
    jid: 'engine@localhost',
    password: 'engine-secret',
  });
  const agent = await connect(t, {
    url: server.url,
    jid: 'agent@localhost',
    password: 'agent-secret',
  });

  const seen: string[] = [];
  agent.client.iqCallee.set(NS, 'run', ({ from, element }) => {
    seen.push(String(from));
    return xml('done', { xmlns: NS }, `ran ${element.getChildText('id')}`);
  });

  const reply = await engine.client.iqCaller.request(
    xml(
      'iq',
      { type: 'set', to: agent.jid },
      xml('run', { xmlns: NS }, xml('id', {}, 'job-1')),
    ),
    5_000,
  );
  t.equal(reply.attrs.type, 'result');
  t.equal(reply.getChild('done', NS)?.text(), 'ran job-1');
  t.same(seen, [engine.jid]);
});

t.test('xmpp connect - comes back online after a restart', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const connection = await connect(t, {
    url: server.url,
    jid: 'engine@localhost',
    password: 'engine-secret',
  });
  const jid = connection.jid;
  const statuses: string[] = [];
  connection.client.on('status', (status) => statuses.push(status));

  await server.restart();
  await waitFor(() => statuses.includes('online'));
  t.ok(statuses.includes('disconnect'), 'it saw the link go');
  t.equal(connection.client.status, 'online');
  t.equal(connection.jid, jid, 'same full jid');
  t.equal(connection.mechanism, 'PLAIN');
});
