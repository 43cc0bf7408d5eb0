import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { xml } from '@xmpp/client';
import t, { type Test } from 'tap';

import {
  AGENT_KILL,
  AGENT_RUN,
  agentOutputSubject,
  type AgentOutputChunk,
  type AgentRunReply,
  type AgentRunRequest,
} from '../../../runtime/agent/protocol.js';
import { LocalBus } from '../../../runtime/bus/local.js';
import { silentLogger } from '../../../runtime/log.js';
import { startAgent, type RunningAgent } from '../../../runtime/xmpp/agent.js';
import { connectXmpp } from '../../../runtime/xmpp/connect.js';
import {
  startAgentController,
  type XmppAgentController,
  type XmppAgentControllerOptions,
} from '../../../runtime/xmpp/controller.js';
import { AGENT_NS, encodePayload } from '../../../runtime/xmpp/protocol.js';
import { prosodyServer, type ProsodyServer } from '../../helpers/prosody.js';

const PASSWORD = 'secret';
const CONTROLLER = 'controller';
const AGENTS = ['node1', 'node2', 'intruder'];

/**
 * A prosody whose rosters subscribe the controller and every agent to
 * each other, as a deployment provisions them: presence then flows both
 * ways at every login.
 */
async function provisionedProsody(t: Test): Promise<ProsodyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-xmpp-controller-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rosters = join(dir, 'data', 'localhost', 'roster');
  mkdirSync(rosters, { recursive: true });
  const roster = (contacts: string[]) =>
    'return {\n  [false] = { ["version"] = 1; ["pending"] = {}; };\n' +
    contacts
      .map(
        (user) =>
          `  ["${user}@localhost"] = ` +
          '{ ["groups"] = {}; ["subscription"] = "both"; };\n',
      )
      .join('') +
    '};\n';
  writeFileSync(join(rosters, `${CONTROLLER}.dat`), roster(AGENTS));
  for (const agent of AGENTS) {
    writeFileSync(join(rosters, `${agent}.dat`), roster([CONTROLLER]));
  }

  const accounts = [CONTROLLER, ...AGENTS].map((user) => ({
    user,
    password: PASSWORD,
  }));
  return prosodyServer(t, { dir, accounts });
}

interface Setup {
  server: ProsodyServer;
  bus: LocalBus;
  controller: XmppAgentController;
  /** The chunks published for a job, as they arrived. */
  chunksOf(jobId: string): AgentOutputChunk[];
}

async function setup(
  t: Test,
  options: Partial<XmppAgentControllerOptions> = {},
  server?: ProsodyServer,
): Promise<Setup> {
  server ??= await provisionedProsody(t);
  const bus = new LocalBus({ logger: silentLogger() });
  const controller = await startAgentController({
    url: server.url,
    jid: `${CONTROLLER}@${server.domain}/ctl`,
    password: PASSWORD,
    bus,
    logger: silentLogger(),
    ...options,
  });
  const seen = new Map<string, AgentOutputChunk[]>();
  bus.subscribe(agentOutputSubject('*'), (message) => {
    const chunk = message as AgentOutputChunk;
    seen.set(chunk.jobId, [...(seen.get(chunk.jobId) ?? []), chunk]);
  });
  t.teardown(async () => {
    await controller.close();
    await bus.close();
  });
  return { server, bus, controller, chunksOf: (id) => seen.get(id) ?? [] };
}

async function agent(
  t: Test,
  url: string,
  name = 'node1',
  concurrency = 4,
): Promise<RunningAgent> {
  const running = await startAgent(
    {
      url,
      jid: `${name}@localhost`,
      password: PASSWORD,
      controller: `${CONTROLLER}@localhost`,
      concurrency,
    },
    silentLogger(),
  );
  t.teardown(() => running.stop());
  return running;
}

function request(overrides: Partial<AgentRunRequest> = {}): AgentRunRequest {
  return {
    jobId: 'job-1',
    agent: 'node1',
    name: 'run.sh',
    source:
      'echo hello\necho oops >&2\necho \'{"ok":true}\' > "$WFE_RESULT_FILE"\n',
    params: {},
    timeoutMs: 20_000,
    ...overrides,
  };
}

function run(bus: LocalBus, body: AgentRunRequest): Promise<AgentRunReply> {
  return bus.request<AgentRunReply>(AGENT_RUN, body, { timeoutMs: 60_000 });
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** A TCP relay to prosody that a test can cut, as a network would. */
async function relay(t: Test, port: number) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `xmpp://127.0.0.1:${typeof address === 'object' ? address?.port : 0}`;
  const cut = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  t.teardown(cut);
  return { url, cut };
}

t.test('xmpp controller - runs an rscript on a remote agent', async (t) => {
  const { bus, server, controller, chunksOf } = await setup(t);
  await agent(t, server.url);
  t.ok(
    await waitFor(() => controller.agents().some((a) => a.online)),
    'the agent is seen online',
  );

  const reply = await run(bus, request());

  t.match(reply, {
    exitCode: 0,
    stdout: 'hello\n',
    stderr: 'oops\n',
    result: { ok: true },
    chunks: 2,
  });
  // The two streams come through separate pipes, in either order.
  const chunks = chunksOf('job-1');
  t.same(
    chunks.map((chunk) => chunk.seq),
    [1, 2],
  );
  t.same(chunks.map(({ stream, chunk }) => `${stream}:${chunk}`).sort(), [
    'stderr:oops\n',
    'stdout:hello\n',
  ]);
  // The roster makes every provisioned agent known, online or not.
  const node1 = controller.agents().find((a) => a.id === 'node1@localhost');
  t.match(node1, { online: true, running: 0 });
  t.type(node1?.lastSeen, 'number');
  t.match(
    controller.agents().find((a) => a.id === 'node2@localhost'),
    { online: false },
  );
});

t.test('xmpp controller - the local agent still runs here', async (t) => {
  const { bus } = await setup(t, { tmpDir: tmpdir() });

  const reply = await run(bus, request({ agent: 'local' }));

  t.match(reply, { exitCode: 0, stdout: 'hello\n' });
});

t.test('xmpp controller - bad agent ids are refused', async (t) => {
  const { bus } = await setup(t);

  await t.rejects(run(bus, request({ agent: 'node1@localhost/res' })), {
    code: 'BAD_INPUT',
  });
  await t.rejects(run(bus, request({ agent: 'node1@elsewhere.org' })), {
    code: 'AGENT_UNAVAILABLE',
  });
});

t.test('xmpp controller - an offline agent is unavailable', async (t) => {
  const { bus, controller } = await setup(t, { startTimeoutMs: 300 });

  await t.rejects(run(bus, request({ agent: 'node2@localhost' })), {
    code: 'AGENT_UNAVAILABLE',
    retryable: true,
    details: { agent: 'node2@localhost' },
  });
  t.match(
    controller.agents().find((a) => a.id === 'node2@localhost'),
    { online: false, running: 0 },
  );
});

t.test('xmpp controller - a run waits for its agent to log in', async (t) => {
  const { bus, server } = await setup(t, { startTimeoutMs: 15_000 });

  const pending = run(bus, request());
  await new Promise((resolve) => setTimeout(resolve, 200));
  await agent(t, server.url);

  t.match(await pending, { exitCode: 0, stdout: 'hello\n' });
});

t.test('xmpp controller - an agent gone mid-script is lost', async (t) => {
  const { bus, server, chunksOf } = await setup(t, { lostGraceMs: 500 });
  const link = await relay(t, server.port);
  await agent(t, link.url);

  const pending = run(
    bus,
    request({ source: 'echo started\nsleep 30\n', timeoutMs: 40_000 }),
  );
  pending.catch(() => {});
  t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
  link.cut();

  await t.rejects(pending, {
    code: 'AGENT_LOST',
    retryable: true,
    details: { agent: 'node1@localhost', jobId: 'job-1' },
  });
});

t.test('xmpp controller - runs survive a prosody restart', async (t) => {
  const { bus, server, chunksOf } = await setup(t, { lostGraceMs: 20_000 });
  await agent(t, server.url);
  const source = 'echo before\nsleep 2\necho after\n';

  const pending = run(bus, request({ source }));
  t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
  await server.restart();

  const reply = await pending;
  t.match(reply, { exitCode: 0, stdout: 'before\nafter\n', chunks: 2 });
  t.same(
    chunksOf('job-1').map((chunk) => chunk.chunk),
    ['before\n', 'after\n'],
  );
});

t.test('xmpp controller - AGENT_KILL stops the remote script', async (t) => {
  const { bus, server, chunksOf } = await setup(t);
  await agent(t, server.url);

  const pending = run(bus, request({ source: 'echo started\nsleep 30\n' }));
  t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
  bus.publish(AGENT_KILL, { jobId: 'job-1', reason: 'enough' });

  t.match(await pending, { cancelled: true, stdout: 'started\n' });
});

t.test('xmpp controller - a done from another agent is dropped', async (t) => {
  const { bus, server, chunksOf } = await setup(t);
  await agent(t, server.url);
  const intruder = await connectXmpp(
    { url: server.url, jid: 'intruder@localhost', password: PASSWORD },
    silentLogger(),
  );
  t.teardown(() => intruder.stop());

  const pending = run(
    bus,
    request({ source: 'echo started\nsleep 1\necho real\n' }),
  );
  t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
  const forged = {
    jobId: 'job-1',
    exitCode: 99,
    signal: null,
    result: { forged: true },
    resultError: null,
    durationMs: 1,
    timedOut: false,
    cancelled: false,
    truncated: { stdout: false, stderr: false },
    chunks: 0,
  };
  const answer = await intruder.client.iqCaller.request(
    xml(
      'iq',
      { type: 'set', to: `${CONTROLLER}@localhost/ctl` },
      xml(
        'done',
        { xmlns: AGENT_NS },
        encodePayload({ name: 'done', body: forged }),
      ),
    ),
  );
  t.equal(answer.getChild('ack', AGENT_NS), undefined, 'no ack for it');

  t.match(await pending, { exitCode: 0, stdout: 'started\nreal\n' });
});

t.test('xmpp controller - the concurrency limit queues runs', async (t) => {
  const { bus, server, controller } = await setup(t, {
    concurrencyPerAgent: 1,
  });
  await agent(t, server.url, 'node1', 1);
  const source = 'date +%s%N\nsleep 0.5\ndate +%s%N\n';

  const first = run(bus, request({ jobId: 'job-a', source }));
  const second = run(bus, request({ jobId: 'job-b', source }));
  t.ok(
    await waitFor(() =>
      controller
        .agents()
        .some((info) => info.id === 'node1@localhost' && info.running === 1),
    ),
    'one in flight',
  );
  const [a, b] = await Promise.all([first, second]);

  t.match([a.exitCode, b.exitCode], [0, 0]);
  const [, aEnd] = a.stdout.trim().split('\n').map(BigInt);
  const [bStart] = b.stdout.trim().split('\n').map(BigInt);
  t.ok(bStart! >= aEnd!, 'the second started after the first ended');
});

t.test('xmpp controller - closing fails queued runs', async (t) => {
  const { bus, controller } = await setup(t);

  const pending = run(bus, request({ agent: 'node2' }));
  pending.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 100));
  await controller.close();

  await t.rejects(pending, { code: 'SHUTTING_DOWN', retryable: true });
});

t.test('xmpp controller - an agent that is busy is asked again', async (t) => {
  const { bus, server } = await setup(t, { concurrencyPerAgent: 2 });
  await agent(t, server.url, 'node1', 1);
  const source = 'sleep 0.3\necho done\n';

  const replies = await Promise.all([
    run(bus, request({ jobId: 'job-a', source })),
    run(bus, request({ jobId: 'job-b', source })),
  ]);

  t.match(replies, [{ stdout: 'done\n' }, { stdout: 'done\n' }]);
});

t.test('xmpp controller - a script the agent cannot run fails', async (t) => {
  const { bus, server } = await setup(t);
  await agent(t, server.url);

  await t.rejects(run(bus, request({ name: 'run.xyz' })), {
    code: 'SCRIPT_BAD_LANGUAGE',
    details: { agent: 'node1@localhost', jobId: 'job-1' },
  });
});
