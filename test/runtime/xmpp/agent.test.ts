import { EventEmitter, once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { xml, type Element } from '@xmpp/client';
import t, { type Test } from 'tap';

import type { AgentOutputChunk } from '../../../runtime/agent/protocol.js';
import { silentLogger } from '../../../runtime/log.js';
import {
  splitUtf8,
  startAgent,
  type AgentOptions,
  type RunningAgent,
} from '../../../runtime/xmpp/agent.js';
import {
  connectXmpp,
  type XmppConnection,
} from '../../../runtime/xmpp/connect.js';
import {
  AGENT_NS,
  CHUNK_BYTES,
  decodePayload,
  type AgentDone,
  type AgentRefusal,
} from '../../../runtime/xmpp/protocol.js';
import { prosodyServer, type ProsodyServer } from '../../helpers/prosody.js';

const PASSWORD = 'secret';
const accounts = ['agent', 'controller', 'intruder'].map((user) => ({
  user,
  password: PASSWORD,
}));

/**
 * A controller as small as the protocol allows: sends run, kill and
 * replay, collects output and done, and acknowledges done unless told
 * to leave it unanswered.
 */
interface TestController {
  connection: XmppConnection;
  output(jobId: string): AgentOutputChunk[];
  /** Resolves with the next done of the job (already received counts). */
  nextDone(jobId: string): Promise<AgentDone>;
  dones(jobId: string): AgentDone[];
  /** Leaves the next done unanswered: as if lost. */
  ignoreNextDone(): void;
  send(to: string, name: string, body: unknown): Promise<AgentRefusal | null>;
  sendRaw(to: string, payload: Element): Promise<AgentRefusal | null>;
}

async function testController(
  t: Test,
  server: ProsodyServer,
  user = 'controller',
): Promise<TestController> {
  const connection = await connectXmpp(
    { url: server.url, jid: `${user}@${server.domain}`, password: PASSWORD },
    silentLogger(),
  );
  t.teardown(() => connection.stop());
  const { client } = connection;
  const outputs = new Map<string, AgentOutputChunk[]>();
  const dones = new Map<string, AgentDone[]>();
  const events = new EventEmitter();
  let ignoring = false;

  client.on('stanza', (stanza) => {
    const element = stanza.getChild('output', AGENT_NS);
    if (stanza.name !== 'message' || !element) return;
    const payload = decodePayload('output', element.text());
    if (payload.name !== 'output') return;
    const list = outputs.get(payload.body.jobId) ?? [];
    list.push(payload.body);
    outputs.set(payload.body.jobId, list);
  });

  client.iqCallee.set(AGENT_NS, 'done', ({ element }) => {
    const payload = decodePayload('done', element.text());
    if (payload.name !== 'done') throw new Error('not a done');
    const { jobId } = payload.body;
    dones.set(jobId, [...(dones.get(jobId) ?? []), payload.body]);
    events.emit(`done:${jobId}`);
    if (ignoring) {
      ignoring = false;
      return new Promise<Element>(() => {});
    }
    return xml('ack', { xmlns: AGENT_NS }, JSON.stringify({ jobId }));
  });
  await client.send(xml('presence'));

  const sendRaw = async (to: string, payload: Element) => {
    try {
      await client.iqCaller.request(xml('iq', { type: 'set', to }, payload));
      return null;
    } catch (err) {
      const refused = (err as { element?: Element }).element?.getChild(
        'refused',
        AGENT_NS,
      );
      if (!refused) throw err;
      const decoded = decodePayload('refused', refused.text());
      return decoded.body as AgentRefusal;
    }
  };

  return {
    connection,
    output: (jobId) => outputs.get(jobId) ?? [],
    dones: (jobId) => dones.get(jobId) ?? [],
    nextDone: async (jobId) => {
      const seen = dones.get(jobId)?.length ?? 0;
      while ((dones.get(jobId)?.length ?? 0) <= seen) {
        await once(events, `done:${jobId}`);
      }
      return dones.get(jobId)![seen]!;
    },
    ignoreNextDone: () => (ignoring = true),
    send: (to, name, body) =>
      sendRaw(to, xml(name, { xmlns: AGENT_NS }, JSON.stringify(body))),
    sendRaw,
  };
}

async function agentFor(
  t: Test,
  server: ProsodyServer,
  options: Partial<AgentOptions> = {},
): Promise<RunningAgent> {
  const agent = await startAgent(
    {
      url: server.url,
      jid: `agent@${server.domain}`,
      password: PASSWORD,
      controller: `controller@${server.domain}`,
      ...options,
    },
    silentLogger(),
  );
  t.teardown(() => agent.stop());
  return agent;
}

function runBody(jobId: string, source: string, extra: object = {}) {
  return { jobId, name: 'job.sh', source, params: {}, ...extra };
}

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wfe-agent-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The agent's output of a job, joined per stream, in seq order. */
function joined(chunks: AgentOutputChunk[], stream: 'stdout' | 'stderr') {
  return [...chunks]
    .sort((a, b) => a.seq - b.seq)
    .filter((chunk) => chunk.stream === stream)
    .map((chunk) => chunk.chunk)
    .join('');
}

/** The longest prefix of `text` that is at most `maxBytes` in UTF-8. */
function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

// PID 1 here does not reap orphans, so a dead process may stay a zombie.
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Resolves once the agent has let go of a job (its ack is processed). */
async function forgotten(
  controller: TestController,
  agentJid: string,
  jobId: string,
): Promise<void> {
  // A replay from past the last chunk re-sends only the done, if kept.
  const ask = () =>
    controller.send(agentJid, 'replay', { jobId, fromSeq: 1_000_000 });
  while ((await ask())?.code !== 'UNKNOWN_JOB') {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

t.test('agent over real prosody', async (t) => {
  const server = await prosodyServer(t, { accounts });

  t.test(
    'agent - streams output in order, reports done, forgets it after ack',
    async (t) => {
      const agent = await agentFor(t, server);
      const controller = await testController(t, server);
      const source = [
        'for i in 1 2 3; do echo "line $i"; done',
        'echo "to stderr" >&2',
        'cp "$WFE_PARAMS_FILE" "$WFE_RESULT_FILE"',
      ].join('\n');

      const refused = await controller.send(
        agent.jid,
        'run',
        runBody('job-ok', source, { params: { vm: 'web1' } }),
      );
      t.equal(refused, null, 'accepted');
      const done = await controller.nextDone('job-ok');

      t.equal(done.exitCode, 0);
      t.same(done.result, { vm: 'web1' });
      t.equal(done.timedOut, false);
      t.equal(done.cancelled, false);
      t.equal(done.error, undefined);
      const chunks = controller.output('job-ok');
      t.equal(chunks.length, done.chunks, 'every chunk arrived');
      t.same(
        chunks.map((chunk) => chunk.seq),
        chunks.map((_chunk, index) => index + 1),
        'seq 1, 2, 3… in order',
      );
      t.equal(joined(chunks, 'stdout'), 'line 1\nline 2\nline 3\n');
      t.equal(joined(chunks, 'stderr'), 'to stderr\n');

      await forgotten(controller, agent.jid, 'job-ok');
      t.pass('forgotten once acknowledged');
      t.equal(
        await controller.send(agent.jid, 'run', runBody('job-ok', 'true')),
        null,
        'so the same job id may run again',
      );
      t.equal((await controller.nextDone('job-ok')).exitCode, 0);
    },
  );

  t.test('agent - reports a non-zero exit', async (t) => {
    const agent = await agentFor(t, server);
    const controller = await testController(t, server);

    await controller.send(agent.jid, 'run', runBody('job-3', 'exit 3'));
    const done = await controller.nextDone('job-3');

    t.equal(done.exitCode, 3);
    t.equal(done.signal, null);
    t.equal(done.result, null);
    t.equal(done.chunks, 0);
  });

  t.test('agent - a script it cannot run ends with an error', async (t) => {
    const agent = await agentFor(t, server);
    const controller = await testController(t, server);

    await controller.send(agent.jid, 'run', {
      ...runBody('job-lang', 'echo hi'),
      name: 'job.unknown',
    });
    const done = await controller.nextDone('job-lang');

    t.equal(done.error?.code, 'SCRIPT_BAD_LANGUAGE');
    t.equal(done.exitCode, null);
  });

  t.test('agent - a timeout kills the whole process tree', async (t) => {
    const dir = await scratch(t);
    const agent = await agentFor(t, server, { workDir: join(dir, 'work') });
    const controller = await testController(t, server);
    const pidFile = join(dir, 'child.pid');
    const source = `sleep 60 &\necho $! > ${pidFile}\necho started\nwait\n`;

    await controller.send(
      agent.jid,
      'run',
      runBody('job-slow', source, { timeoutMs: 500 }),
    );
    const done = await controller.nextDone('job-slow');

    t.equal(done.timedOut, true);
    t.equal(done.cancelled, false);
    const childPid = Number(await readFile(pidFile, 'utf8'));
    t.ok(childPid > 0, 'the script started a child');
    await waitFor(() => processGone(childPid));
    t.pass('the child is gone');
    t.same(
      await readdirSafe(join(dir, 'work')),
      [],
      'the run folder is removed',
    );
  });

  t.test(
    'agent - kill stops a running script; done says cancelled',
    async (t) => {
      const agent = await agentFor(t, server);
      const controller = await testController(t, server);

      await controller.send(
        agent.jid,
        'run',
        runBody('job-kill', 'echo started\nsleep 60\n'),
      );
      await waitFor(() => controller.output('job-kill').length > 0);
      t.equal(agent.running(), 1);
      const answer = await controller.send(agent.jid, 'kill', {
        jobId: 'job-kill',
        reason: 'user asked',
      });
      const done = await controller.nextDone('job-kill');

      t.equal(answer, null, 'the kill is answered');
      t.equal(done.cancelled, true);
      t.equal(done.timedOut, false);
      t.equal(joined(controller.output('job-kill'), 'stdout'), 'started\n');
      t.equal(
        await controller.send(agent.jid, 'kill', { jobId: 'nothing-here' }),
        null,
        'a kill for no run is answered too',
      );
    },
  );

  t.test(
    'agent - refuses and ignores a JID other than the controller',
    async (t) => {
      const dir = await scratch(t);
      const agent = await agentFor(t, server);
      const intruder = await testController(t, server, 'intruder');
      const controller = await testController(t, server);
      const marker = join(dir, 'marker');

      const refused = await intruder.send(
        agent.jid,
        'run',
        runBody('job-evil', `touch ${marker}`),
      );
      const killRefused = await intruder.send(agent.jid, 'kill', {
        jobId: 'job-evil',
      });
      const rawRefused = await intruder.sendRaw(
        agent.jid,
        xml('run', { xmlns: AGENT_NS }, 'not even json'),
      );

      t.equal(refused?.code, 'NOT_AUTHORIZED');
      t.equal(killRefused?.code, 'NOT_AUTHORIZED');
      t.equal(rawRefused?.code, 'NOT_AUTHORIZED', 'checked before decoding');
      // A run of the controller's after the refusals has ended: had the
      // intruder's run started, its marker would exist by now.
      await controller.send(agent.jid, 'run', runBody('job-after', 'true'));
      await controller.nextDone('job-after');
      t.notOk(existsSync(marker), 'nothing ran');
      t.same(intruder.dones('job-evil'), []);
    },
  );

  t.test('agent - refuses runs over its concurrency limit', async (t) => {
    const dir = await scratch(t);
    const agent = await agentFor(t, server, { concurrency: 1 });
    const controller = await testController(t, server);
    const go = join(dir, 'go');
    const waitForGo = `while [ ! -e ${go} ]; do sleep 0.05; done\n`;

    t.equal(
      await controller.send(agent.jid, 'run', runBody('job-a', waitForGo)),
      null,
    );
    const busy = await controller.send(
      agent.jid,
      'run',
      runBody('job-b', 'true'),
    );
    const again = await controller.send(
      agent.jid,
      'run',
      runBody('job-a', 'true'),
    );

    t.equal(busy?.code, 'AGENT_BUSY');
    t.equal(again?.code, 'RUN_IN_PROGRESS', 'a repeated job id is refused');
    await writeFile(go, '');
    t.equal((await controller.nextDone('job-a')).exitCode, 0);
    t.equal(
      await controller.send(agent.jid, 'run', runBody('job-b', 'true')),
      null,
      'accepted once there is room',
    );
    await controller.nextDone('job-b');
  });

  t.test('agent - refuses bad payloads', async (t) => {
    const agent = await agentFor(t, server);
    const controller = await testController(t, server);
    const raw = (name: string, text: string) =>
      controller.sendRaw(agent.jid, xml(name, { xmlns: AGENT_NS }, text));

    t.equal((await raw('run', 'not json'))?.code, 'BAD_PAYLOAD');
    t.equal((await raw('frobnicate', '{}'))?.code, 'BAD_PAYLOAD');
    t.equal(
      (await controller.send(agent.jid, 'ack', { jobId: 'x' }))?.code,
      'BAD_PAYLOAD',
      'a payload an agent does not take',
    );
    t.equal(
      (await controller.send(agent.jid, 'run', { jobId: 'x', name: 'a.sh' }))
        ?.code,
      'BAD_INPUT',
    );
    t.equal(
      (await controller.send(agent.jid, 'replay', { jobId: 'x', fromSeq: 0 }))
        ?.code,
      'BAD_PAYLOAD',
    );
    const get = await controller.connection.client.iqCaller
      .request(
        xml(
          'iq',
          { type: 'get', to: agent.jid },
          xml('run', { xmlns: AGENT_NS }, '{}'),
        ),
      )
      .catch((err: { element?: Element }) => err.element);
    t.match(
      get?.getChild('refused', AGENT_NS)?.text(),
      /BAD_PAYLOAD/,
      'an iq get is refused',
    );
    t.equal(agent.running(), 0, 'nothing runs');
  });

  t.test(
    'agent - output far over the cap arrives truncated with the marker',
    async (t) => {
      const agent = await agentFor(t, server);
      const controller = await testController(t, server);
      // 1-, 2-, 3- and 4-byte characters, 10 bytes a round: chunks and TCP
      // reads end inside characters, which must all arrive whole.
      const round = 'aé€😀';
      const rounds = 300_000;
      const source = `process.stdout.write(${JSON.stringify(round)}.repeat(${rounds}));\n`;

      await controller.send(agent.jid, 'run', {
        ...runBody('job-big', source),
        name: 'big.js',
      });
      const done = await controller.nextDone('job-big');
      const chunks = controller.output('job-big');
      const stdout = joined(chunks, 'stdout');

      t.equal(done.truncated.stdout, true);
      t.equal(chunks.length, done.chunks);
      t.ok(
        chunks.every((chunk) => Buffer.byteLength(chunk.chunk) <= CHUNK_BYTES),
        'no chunk is over CHUNK_BYTES',
      );
      // The cap keeps whole characters only: the longest prefix that fits.
      const all = round.repeat(rounds);
      const kept = utf8Prefix(all, 1024 * 1024);
      const dropped = Buffer.byteLength(all) - Buffer.byteLength(kept);
      t.notOk(stdout.includes('\uFFFD'), 'no replacement character');
      t.equal(
        stdout,
        kept + `\n[wfe: stdout truncated, ${dropped} bytes dropped]\n`,
        'the kept characters, then the marker line',
      );
    },
  );

  t.test('agent - replay re-sends output and done', async (t) => {
    const agent = await agentFor(t, server);
    const controller = await testController(t, server);
    controller.ignoreNextDone();

    await controller.send(
      agent.jid,
      'run',
      runBody('job-replay', 'echo one\necho two >&2\necho three\n'),
    );
    const first = await controller.nextDone('job-replay');
    const before = controller.output('job-replay').length;
    const answer = await controller.send(agent.jid, 'replay', {
      jobId: 'job-replay',
      fromSeq: 2,
    });
    const second = await controller.nextDone('job-replay');

    t.equal(answer, null);
    t.same(second, first, 'the same done again');
    const replayed = controller.output('job-replay').slice(before);
    t.same(
      replayed.map((chunk) => chunk.seq),
      Array.from({ length: first.chunks - 1 }, (_v, index) => index + 2),
      'the chunks from seq 2 on',
    );
    t.same(replayed, controller.output('job-replay').slice(1, first.chunks));
  });

  t.test('agent - sends done again after it reconnects', async (t) => {
    const proxy = await linkProxy(t, server.port);
    const agent = await agentFor(t, server, { url: proxy.url });
    const controller = await testController(t, server);
    controller.ignoreNextDone();

    await controller.send(agent.jid, 'run', runBody('job-lost', 'echo hi'));
    const first = await controller.nextDone('job-lost');
    proxy.cut();
    const second = await controller.nextDone('job-lost');

    t.same(second, first, 'the kept result, sent again once online');
    await forgotten(controller, agent.jid, 'job-lost');
    t.pass('forgotten after the ack');
  });

  t.test('agent - stop kills running scripts', async (t) => {
    const agent = await agentFor(t, server);
    const controller = await testController(t, server);

    await controller.send(agent.jid, 'run', runBody('job-stop', 'sleep 60'));
    t.equal(agent.running(), 1);
    await agent.stop();
    t.equal(agent.running(), 0);
    await agent.stop();
    t.pass('stopping twice is fine');
  });
});

t.test('agent - a run survives a prosody restart', async (t) => {
  const server = await prosodyServer(t, { accounts });
  const dir = await scratch(t);
  const agent = await agentFor(t, server);
  const controller = await testController(t, server);
  const go = join(dir, 'go');
  const source = `echo before\nwhile [ ! -e ${go} ]; do sleep 0.05; done\necho after\n`;

  await controller.send(agent.jid, 'run', runBody('job-restart', source));
  await waitFor(() => controller.output('job-restart').length > 0);
  const online = new Promise((resolve) =>
    controller.connection.client.once('online', resolve),
  );
  await server.restart();
  await online;
  await writeFile(go, '');

  // Output sent while the link was down is lost; replay fills the gap.
  let done = controller.dones('job-restart')[0];
  while (done === undefined) {
    // Refused by the server while the agent is not back yet.
    await controller
      .send(agent.jid, 'replay', { jobId: 'job-restart', fromSeq: 1 })
      .catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 200));
    done = controller.dones('job-restart')[0];
  }
  t.equal(done.exitCode, 0);
  const all = controller.output('job-restart');
  const bySeq = new Map(all.map((chunk) => [chunk.seq, chunk]));
  t.equal(bySeq.size, done.chunks);
  t.equal(joined([...bySeq.values()], 'stdout'), 'before\nafter\n');
});

t.test('agent - refuses a bad controller JID or concurrency', async (t) => {
  const base = {
    url: 'xmpp://127.0.0.1:1',
    jid: 'agent@localhost',
    password: 'x',
  };
  await t.rejects(
    startAgent({ ...base, controller: 'no-at-sign' }, silentLogger()),
    { code: 'BAD_CONFIG' },
  );
  await t.rejects(
    startAgent(
      { ...base, controller: 'c@localhost', concurrency: 0 },
      silentLogger(),
    ),
    { code: 'BAD_CONFIG' },
  );
  await t.rejects(
    startAgent({ ...base, controller: 'c@localhost' }, silentLogger()),
    { code: 'XMPP_UNREACHABLE' },
  );
});

t.test('agent - splitUtf8 never cuts a character', async (t) => {
  t.same(splitUtf8('', 4), []);
  t.same(splitUtf8('abc', 4), ['abc']);
  t.same(splitUtf8('abcdef', 4), ['abcd', 'ef']);
  t.same(splitUtf8('a€€', 4), ['a€', '€']);
  const pieces = splitUtf8('é€😀'.repeat(100), 7);
  t.equal(pieces.join(''), 'é€😀'.repeat(100));
  t.ok(pieces.every((piece) => Buffer.byteLength(piece) <= 7));
});

/** A TCP relay to prosody whose links can be cut: a network fault. */
async function linkProxy(
  t: Test,
  port: number,
): Promise<{ url: string; cut(): void }> {
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
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const address = server.address();
  const proxyPort = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `xmpp://127.0.0.1:${proxyPort}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
