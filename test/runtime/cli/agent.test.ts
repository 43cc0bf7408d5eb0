import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { xml } from '@xmpp/client';
import t from 'tap';

import { AGENT_READY_LINE } from '../../../runtime/cli/agent.js';
import { main } from '../../../runtime/cli/main.js';
import { silentLogger } from '../../../runtime/log.js';
import { connectXmpp } from '../../../runtime/xmpp/connect.js';
import { AGENT_NS, decodePayload } from '../../../runtime/xmpp/protocol.js';
import { prosodyServer } from '../../helpers/prosody.js';
import { wfe } from './cli-io.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const launcher = path.join(root, 'bin', 'wfe.js');
const built = path.join(root, 'dist', 'runtime', 'cli', 'agent.js');
const PASSWORD = 'secret';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(file).mtimeMs);
    }
  }
  return newest;
}

// The launcher runs the compiled CLI; build it when missing or stale.
// Type errors elsewhere in the tree still emit files.
if (
  !existsSync(built) ||
  statSync(built).mtimeMs < newestSource(path.join(root, 'runtime'))
) {
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
  }).catch(() => {});
}

t.test('agent - missing flags are a usage error naming them', async (t) => {
  const none = await wfe(['agent']);
  t.equal(none.code, 2);
  t.match(none.stderr, '--xmpp (or WFE_AGENT_XMPP_URL)');
  t.match(none.stderr, '--jid (or WFE_AGENT_JID)');
  t.match(none.stderr, '--password (or WFE_AGENT_PASSWORD)');
  t.match(none.stderr, '--controller (or WFE_AGENT_CONTROLLER)');
  t.match(none.stderr, 'wfe agent --help');

  const some = await wfe(['agent', '--xmpp', 'xmpp://127.0.0.1:1'], {
    env: { WFE_AGENT_JID: 'a@localhost', WFE_AGENT_CONTROLLER: 'c@localhost' },
  });
  t.equal(some.code, 2);
  t.equal(
    some.stderr,
    'wfe: missing --password (or WFE_AGENT_PASSWORD) ' +
      '(see wfe agent --help)\n',
  );
});

const complete = {
  WFE_AGENT_XMPP_URL: 'xmpp://127.0.0.1:1',
  WFE_AGENT_JID: 'agent@localhost',
  WFE_AGENT_PASSWORD: PASSWORD,
  WFE_AGENT_CONTROLLER: 'controller@localhost',
  WFE_LOG_LEVEL: 'silent',
};

t.test('agent - bad flags are usage errors', async (t) => {
  const zero = await wfe(['agent', '--concurrency', '0'], { env: complete });
  t.equal(zero.code, 2);
  t.match(zero.stderr, '--concurrency must be a positive whole number');

  const extra = await wfe(['agent', 'extra'], { env: complete });
  t.equal(extra.code, 2);
  t.match(extra.stderr, "unexpected argument 'extra'");

  const help = await wfe(['agent', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'prefer env WFE_AGENT_PASSWORD');
});

t.test('agent - an unreachable server is one line and exit 1', async (t) => {
  const result = await wfe(['agent'], { env: complete });
  t.equal(result.code, 1);
  t.match(result.stderr, /^wfe: XMPP_UNREACHABLE: [^\n]*\n$/);
});

t.test('agent against prosody', async (t) => {
  const server = await prosodyServer(t, {
    accounts: ['agent', 'controller'].map((user) => ({
      user,
      password: PASSWORD,
    })),
  });
  const env = {
    ...complete,
    WFE_AGENT_XMPP_URL: server.url,
    WFE_AGENT_JID: `agent@${server.domain}`,
    WFE_AGENT_CONTROLLER: `controller@${server.domain}`,
  };

  t.test('agent - a wrong password is one line and exit 1', async (t) => {
    const result = await wfe(['agent', '--password', 'wrong'], { env });
    t.equal(result.code, 1);
    t.match(result.stderr, /^wfe: XMPP_AUTH: [^\n]*\n$/);
  });

  t.test('agent - in process: ready line, then stops on request', async (t) => {
    const stop = new AbortController();
    let stdout = '';
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));

    const exit = main(['agent', '--concurrency', '2', '--work-dir', tmpdir()], {
      stdout: (text) => {
        stdout += text;
        if (stdout.includes(AGENT_READY_LINE)) ready();
      },
      stderr: () => {},
      env,
      stopSignal: stop.signal,
    });
    await isReady;
    stop.abort();

    t.equal(await exit, 0);
    t.match(stdout, `${AGENT_READY_LINE} agent@${server.domain}/`);
    t.match(
      stdout,
      /wfe agent: stop requested, stopping\nwfe agent: stopped\n$/,
    );
  });

  t.test(
    'agent - a real process runs a script and exits 0 on SIGTERM',
    async (t) => {
      const child = spawn(
        process.execPath,
        [launcher, 'agent', '--xmpp', server.url],
        {
          env: { ...process.env, ...env, WFE_AGENT_XMPP_URL: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      t.teardown(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk;
          const match = new RegExp(`${AGENT_READY_LINE} (\\S+)\\n`).exec(
            stdout,
          );
          if (match) resolve(match[1]!);
        });
        void exited.then((code) =>
          reject(new Error(`wfe agent exited with ${code}:\n${stderr}`)),
        );
      });

      const controller = await connectXmpp(
        {
          url: server.url,
          jid: `controller@${server.domain}`,
          password: PASSWORD,
        },
        silentLogger(),
      );
      t.teardown(() => controller.stop());
      const done = new Promise<unknown>((resolve) =>
        controller.client.iqCallee.set(AGENT_NS, 'done', ({ element }) => {
          resolve(decodePayload('done', element.text()).body);
          return xml('ack', { xmlns: AGENT_NS }, '{"jobId":"cli-1"}');
        }),
      );
      await controller.client.iqCaller.request(
        xml(
          'iq',
          { type: 'set', to: line },
          xml(
            'run',
            { xmlns: AGENT_NS },
            JSON.stringify({
              jobId: 'cli-1',
              name: 'hello.sh',
              source: 'exit 7',
              params: {},
            }),
          ),
        ),
      );
      t.match(await done, { jobId: 'cli-1', exitCode: 7 });

      child.kill('SIGTERM');
      t.equal(await exited, 0);
      t.match(
        stdout,
        /wfe agent: received SIGTERM, stopping\nwfe agent: stopped\n$/,
      );
    },
  );
});
