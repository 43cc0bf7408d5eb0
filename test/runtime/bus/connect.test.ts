import t from 'tap';

import {
  connectNats,
  natsOptionsFromEnv,
} from '../../../runtime/bus/connect.js';
import { WfeError } from '../../../runtime/errors.js';
import { silentLogger } from '../../../runtime/log.js';
import { natsServer } from '../../helpers/nats.js';

const logger = silentLogger();

/** Connects, checks the connection answers, and closes it. */
async function roundTrip(
  options: Parameters<typeof connectNats>[0],
): Promise<void> {
  const nc = await connectNats(options, logger);
  try {
    await nc.flush();
  } finally {
    await nc.close();
  }
}

async function failure(attempt: Promise<unknown>): Promise<WfeError> {
  try {
    await attempt;
  } catch (err) {
    if (err instanceof WfeError) return err;
    throw err;
  }
  throw new Error('expected the connection to fail');
}

t.test('connect - user and password', async (t) => {
  const server = await natsServer(t, {
    jetstream: false,
    auth: { user: 'wfe', password: 's3cret' },
  });

  await t.resolves(
    roundTrip({ url: server.url, user: 'wfe', password: 's3cret' }),
    'right credentials connect',
  );

  const err = await failure(
    connectNats({ url: server.url, user: 'wfe', password: 'nope' }, logger),
  );
  t.equal(err.code, 'NATS_AUTH');
  t.match(err.message, /refused the credentials/);
  t.match(err.message, String(server.port));
  t.notMatch(err.message, /nope/, 'no password in the message');

  const none = await failure(connectNats({ url: server.url }, logger));
  t.equal(none.code, 'NATS_AUTH', 'no credentials is refused too');
});

t.test('connect - credentials in the URL', async (t) => {
  const server = await natsServer(t, {
    jetstream: false,
    auth: { user: 'wfe', password: 'p@ss:word' },
  });
  const at = `127.0.0.1:${server.port}`;

  await t.resolves(
    roundTrip({ url: `nats://wfe:${encodeURIComponent('p@ss:word')}@${at}` }),
    'user and password from the URL',
  );

  const err = await failure(
    connectNats({ url: `nats://wfe:wrong@${at}` }, logger),
  );
  t.equal(err.code, 'NATS_AUTH');
  t.notMatch(err.message, /wrong/, 'the password stays out of the message');
  t.match(err.message, `nats://wfe@${at}`);
});

t.test('connect - token', async (t) => {
  const server = await natsServer(t, {
    jetstream: false,
    auth: { token: 'tok-123' },
  });
  const at = `127.0.0.1:${server.port}`;

  await t.resolves(roundTrip({ url: server.url, token: 'tok-123' }));
  await t.resolves(
    roundTrip({ url: `nats://tok-123@${at}` }),
    'a lone user part in the URL is a token',
  );
  await t.resolves(roundTrip({ url: at, token: 'tok-123' }), 'no scheme');

  const err = await failure(
    connectNats({ url: `nats://bad-token@${at}` }, logger),
  );
  t.equal(err.code, 'NATS_AUTH');
  t.notMatch(err.message, /bad-token/, 'the token stays out of the message');
});

t.test('connect - unreachable server fails fast', async (t) => {
  const server = await natsServer(t, { jetstream: false });
  const url = server.url;
  await server.stop();

  const err = await failure(connectNats({ url, timeoutMs: 1000 }, logger));
  t.equal(err.code, 'NATS_UNREACHABLE');
  t.equal(err.retryable, true);
  t.match(err.message, url);
});

t.test('connect - bad url', async (t) => {
  const err = await failure(connectNats({ url: 'nats://[::' }, logger));
  t.equal(err.code, 'NATS_BAD_URL');
});

t.test('connect - reconnects after a server restart', async (t) => {
  const server = await natsServer(t, { jetstream: false });
  const nc = await connectNats({ url: server.url, name: 'restart' }, logger);
  t.teardown(() => nc.close());

  const reconnected = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'reconnect') return true;
    }
    return false;
  })();
  await server.restart();

  t.equal(await reconnected, true, 'the client reconnects by itself');
  await nc.flush();
  t.equal(nc.isClosed(), false, 'still open after the restart');
});

t.test('natsOptionsFromEnv - reads WFE_NATS_*', async (t) => {
  t.equal(natsOptionsFromEnv({}), null, 'no url, no options');
  t.same(natsOptionsFromEnv({ WFE_NATS_URL: 'nats://h:1' }), {
    url: 'nats://h:1',
  });
  t.same(
    natsOptionsFromEnv({
      WFE_NATS_URL: 'nats://h:1',
      WFE_NATS_USER: 'u',
      WFE_NATS_PASSWORD: 'p',
      WFE_NATS_TOKEN: 't',
    }),
    { url: 'nats://h:1', user: 'u', password: 'p', token: 't' },
  );
  t.same(
    natsOptionsFromEnv({ WFE_NATS_URL: 'nats://env:1' }, 'nats://arg:2'),
    { url: 'nats://arg:2' },
    'the argument wins over the environment',
  );
  t.same(natsOptionsFromEnv({}, 'nats://arg:2'), { url: 'nats://arg:2' });
});
