import { once, EventEmitter } from 'node:events';

import { xml } from '@xmpp/client';
import t, { type Test } from 'tap';

import { silentLogger } from '../../../runtime/log.js';
import {
  connectXmpp,
  type XmppConnection,
} from '../../../runtime/xmpp/connect.js';
import { prosodyServer } from '../../helpers/prosody.js';

const accounts = [
  { user: 'sender', password: 'sender-secret' },
  { user: 'receiver', password: 'receiver-secret' },
];

// 1-, 3-, 4- and 2-byte characters: 10 bytes a round, so TCP reads end
// inside a character at every offset. 20,000 rounds are 200 kB, under
// prosody's 256 KiB stanza limit.
const ROUND = 'a€😀é';
const ROUNDS = 20_000;

async function connect(
  t: Test,
  url: string,
  user: string,
): Promise<XmppConnection> {
  const connection = await connectXmpp(
    { url, jid: `${user}@localhost`, password: `${user}-secret` },
    silentLogger(),
  );
  t.teardown(() => connection.stop());
  return connection;
}

/** Collects message bodies; `next()` resolves with the next one. */
function inbox(connection: XmppConnection): { next(): Promise<string> } {
  const bodies: string[] = [];
  const events = new EventEmitter();
  connection.client.on('stanza', (stanza) => {
    if (stanza.name !== 'message') return;
    bodies.push(stanza.getChildText('body') ?? '');
    events.emit('body');
  });
  return {
    next: async () => {
      while (bodies.length === 0) await once(events, 'body');
      return bodies.shift()!;
    },
  };
}

t.test('xmpp connect - large non-ASCII bodies arrive intact', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const sender = await connect(t, server.url, 'sender');
  const receiver = await connect(t, server.url, 'receiver');
  const received = inbox(receiver);

  const bodies = [
    ROUND.repeat(ROUNDS),
    // Shifted by one byte, so the splits fall elsewhere.
    'x' + ROUND.repeat(ROUNDS),
    '€'.repeat(65_000),
  ];
  for (const body of bodies) {
    await sender.client.send(
      xml('message', { to: receiver.jid, type: 'chat' }, xml('body', {}, body)),
    );
  }

  for (const [index, body] of bodies.entries()) {
    const got = await received.next();
    t.notOk(got.includes('\uFFFD'), `body ${index}: no replacement character`);
    t.ok(
      Buffer.from(got, 'utf8').equals(Buffer.from(body, 'utf8')),
      `body ${index}: byte-identical (${Buffer.byteLength(body)} bytes)`,
    );
  }
});

t.test('xmpp connect - decodes afresh after a reconnect', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const sender = await connect(t, server.url, 'sender');
  const receiver = await connect(t, server.url, 'receiver');
  const received = inbox(receiver);
  const body = ROUND.repeat(ROUNDS);

  // Not events.once: the server's shutdown notice is an 'error' event.
  const backOnline = Promise.all(
    [sender, receiver].map(
      (c) => new Promise((resolve) => c.client.on('online', resolve)),
    ),
  );
  await server.restart();
  await backOnline;
  await sender.client.send(
    xml('message', { to: receiver.jid, type: 'chat' }, xml('body', {}, body)),
  );

  t.equal(await received.next(), body, 'intact on the new socket');
});
