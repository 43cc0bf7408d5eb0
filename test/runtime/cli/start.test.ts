import path from 'node:path';
import t from 'tap';

import { main } from '../../../runtime/cli/main.js';
import { READY_LINE } from '../../../runtime/cli/start.js';
import { natsServer } from '../../helpers/nats.js';
import { prosodyServer } from '../../helpers/prosody.js';
import { wfe, workspace } from './cli-io.js';

t.test(
  'start - prints how to submit work, then stops on request',
  async (t) => {
    const dir = await workspace(t);
    const data = path.join(dir, 'data');
    const stop = new AbortController();
    let stdout = '';
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));

    const exit = main(['start', '--data', data], {
      stdout: (text) => {
        stdout += text;
        if (stdout.includes(READY_LINE)) ready();
      },
      stderr: () => {},
      env: { WFE_LOG_LEVEL: 'silent' },
      stopSignal: stop.signal,
    });
    await isReady;
    stop.abort();

    t.equal(await exit, 0);
    t.match(stdout, `  store     sqlite at ${path.join(data, 'wfe.db')}\n`);
    t.match(stdout, /actions {3}hypervisor\.startVm, .*machine\.create/);
    t.match(stdout, / {2}role {6}all\n/);
    t.match(stdout, /start it with --nats URL \(or WFE_NATS_URL\)/);
    t.notMatch(stdout, /wfe submit .* --nats/);
    t.match(
      stdout,
      `wfe run machine.create --params '{"name":"web1"}' --data `,
    );
    t.match(stdout, `wfe jobs --data ${data}\n`);
    t.match(
      stdout,
      /wfe start: stop requested, stopping\nwfe start: stopped\n$/,
    );

    const jobs = await wfe(['jobs', '--data', data]);
    t.equal(jobs.code, 0, 'the store exists and is readable after a stop');
  },
);

t.test('start - an already aborted stop signal stops right away', async (t) => {
  const dir = await workspace(t);
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(['start', '--tasklets', dir, '--workflows', dir], {
    env: { WFE_DATA_DIR: path.join(dir, 'data'), WFE_LOG_LEVEL: 'silent' },
    stopSignal: stop.signal,
  });

  t.equal(result.code, 0);
  t.match(result.stdout, /actions {3}\(none\)\n/);
  t.match(result.stdout, /wfe run <action> --params '\{\}'/);
});

t.test('start - with NATS, says how to submit over it', async (t) => {
  const dir = await workspace(t);
  const nats = await natsServer(t);
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(['start', '--tasklets', dir, '--workflows', dir], {
    env: {
      WFE_DATA_DIR: path.join(dir, 'data'),
      WFE_LOG_LEVEL: 'silent',
      WFE_NATS_URL: nats.url,
      WFE_ROLE: 'all',
    },
    stopSignal: stop.signal,
  });

  t.equal(result.code, 0, result.stderr);
  t.match(
    result.stdout,
    / {2}role {6}all\n {2}nats {6}nats:\/\/127\.0\.0\.1:\d+\n/,
  );
  t.match(
    result.stdout,
    `  wfe submit <action> --params '{}' --nats ${nats.url}\n`,
  );
  t.match(result.stdout, `  wfe jobs --nats ${nats.url}\n`);
  t.notMatch(result.stdout, /wfe run/);
});

t.test('start - a worker role runs jobs and names its role', async (t) => {
  const dir = await workspace(t);
  const nats = await natsServer(t);
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(
    ['start', '--tasklets', dir, '--role', 'worker', '--nats', nats.url],
    { env: { WFE_LOG_LEVEL: 'silent' }, stopSignal: stop.signal },
  );

  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, / {2}role {6}worker\n/);
  t.notMatch(result.stdout, / {2}store /, 'a worker keeps no store');
  t.match(result.stdout, /runs only the worker role/);
});

t.test('start - a bad role or a role without NATS exits 2', async (t) => {
  const bad = await wfe(['start', '--role', 'boss']);
  t.equal(bad.code, 2);
  t.match(
    bad.stderr,
    "--role must be one of all, worker, writer, controller, got 'boss'",
  );

  const fromEnv = await wfe(['start'], { env: { WFE_ROLE: 'writer' } });
  t.equal(fromEnv.code, 2);
  t.match(
    fromEnv.stderr,
    /--role writer .*give --nats URL or set WFE_NATS_URL/,
  );
});

t.test('start - an unreachable NATS server fails with one line', async (t) => {
  const dir = await workspace(t);
  const result = await wfe(
    ['start', '--tasklets', dir, '--nats', 'nats://127.0.0.1:1'],
    { env: { WFE_DATA_DIR: path.join(dir, 'data'), WFE_LOG_LEVEL: 'silent' } },
  );

  t.equal(result.code, 1);
  t.match(result.stderr, /^wfe: NATS_UNREACHABLE: [^\n]+\n$/);
});

t.test('start - --xmpp makes the engine the agent controller', async (t) => {
  const prosody = await prosodyServer(t, {
    accounts: [{ user: 'wfe', password: 'pw' }],
  });
  const dir = await workspace(t);
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(
    ['start', '--xmpp', prosody.url, '--jid', 'wfe@localhost'],
    {
      env: {
        WFE_DATA_DIR: path.join(dir, 'data'),
        WFE_XMPP_PASSWORD: 'pw',
        WFE_LOG_LEVEL: 'silent',
      },
      stopSignal: stop.signal,
    },
  );
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, `  agents    over ${prosody.url} as wfe@localhost\n`);

  const missing = await wfe(['start', '--xmpp', prosody.url], {
    env: { WFE_DATA_DIR: path.join(dir, 'data') },
  });
  t.equal(missing.code, 2, 'a login needs a JID and a password');
  t.match(missing.stderr, /--xmpp needs --jid/);

  const wrong = await wfe(
    ['start', '--xmpp', prosody.url, '--jid', 'wfe@localhost'],
    {
      env: {
        WFE_DATA_DIR: path.join(dir, 'data'),
        WFE_XMPP_PASSWORD: 'nope',
        WFE_LOG_LEVEL: 'silent',
      },
    },
  );
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /XMPP_AUTH/);
});
