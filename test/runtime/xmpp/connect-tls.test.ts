import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';

import t from 'tap';

import { silentLogger } from '../../../runtime/log.js';
import { connectXmpp } from '../../../runtime/xmpp/connect.js';

// A TLS listener with a self-signed certificate for "localhost" that
// records what arrives once the handshake is done, and never answers.
const dir = mkdtempSync(join(tmpdir(), 'wfe-xmpp-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'key.pem');
const cert = join(dir, 'cert.pem');
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost',
  ],
  { stdio: 'ignore' },
);

const received: string[] = [];
const sockets: TLSSocket[] = [];
const server = createServer(
  { key: readFileSync(key), cert: readFileSync(cert) },
  (socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => received.push(chunk.toString()));
    socket.on('error', () => {});
  },
);
server.on('tlsClientError', () => {});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => {
  for (const socket of sockets) socket.destroy();
  server.close();
});
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const url = `xmpps://localhost:${port}`;

t.test('xmpp connect - an untrusted certificate is XMPP_TLS', async (t) => {
  await t.rejects(
    connectXmpp(
      { url, jid: 'a@localhost', password: 'p', timeoutMs: 5_000 },
      silentLogger(),
    ),
    { code: 'XMPP_TLS', retryable: false, details: { url } },
  );
});

t.test('xmpp connect - direct TLS trusts the given CA file', async (t) => {
  received.length = 0;
  await t.rejects(
    connectXmpp(
      { url, jid: 'a@localhost', password: 'p', caFile: cert, timeoutMs: 500 },
      silentLogger(),
    ),
    { code: 'XMPP_UNREACHABLE', message: /no login within 500 ms/ },
    'the server never answers',
  );
  t.match(
    received.join(''),
    /<stream:stream[^>]*to="localhost"/,
    'handshake done',
  );
});
