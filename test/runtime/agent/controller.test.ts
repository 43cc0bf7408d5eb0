import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';

import { serveAgents } from '../../../runtime/agent/controller.js';
import {
  AGENT_KILL,
  AGENT_RUN,
  agentOutputSubject,
  MAX_SOURCE_BYTES,
  type AgentOutputChunk,
  type AgentRunReply,
  type AgentRunRequest,
} from '../../../runtime/agent/protocol.js';
import { LocalBus } from '../../../runtime/bus/local.js';
import { silentLogger } from '../../../runtime/log.js';

interface Setup {
  bus: LocalBus;
  agents: ReturnType<typeof serveAgents>;
  tmpDir: string;
  /** The chunks published for a job, as they arrived. */
  chunksOf(jobId: string): AgentOutputChunk[];
}

function setup(t: Test): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-controller-'));
  const tmpDir = join(dir, 'runs');
  const bus = new LocalBus({ logger: silentLogger() });
  const agents = serveAgents(bus, { logger: silentLogger(), tmpDir });
  const seen = new Map<string, AgentOutputChunk[]>();
  bus.subscribe(agentOutputSubject('*'), (message) => {
    const chunk = message as AgentOutputChunk;
    seen.set(chunk.jobId, [...(seen.get(chunk.jobId) ?? []), chunk]);
  });

  t.teardown(async () => {
    await agents.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    bus,
    agents,
    tmpDir,
    chunksOf: (jobId) => seen.get(jobId) ?? [],
  };
}

function request(overrides: Partial<AgentRunRequest> = {}): AgentRunRequest {
  return {
    jobId: 'job-1',
    agent: 'local',
    name: 'run.sh',
    source: 'echo hello\n',
    params: {},
    ...overrides,
  };
}

function run(bus: LocalBus, message: unknown): Promise<AgentRunReply> {
  return bus.request<AgentRunReply>(AGENT_RUN, message);
}

// Dead means no such process, or a zombie that nobody reaps here.
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitFor(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

// Prints its own folder's mode and name, streams lines, writes a result.
const STREAMING = [
  'echo "mode=$(stat -c %a "$(dirname "$0")") name=$(basename "$0")"',
  'for i in 1 2 3; do echo "line $i"; echo "err $i" >&2; sleep 0.05; done',
  'echo "$WFE_PARAMS" > "$WFE_RESULT_FILE"',
].join('\n');

// Starts a background sleep, tells its pid, then waits for it.
const HANG = 'sleep 300 &\necho "pid $!"\nwait\n';

t.test(
  'controller - runs a script and streams its output in order',
  async (t) => {
    const { bus, tmpDir, chunksOf } = setup(t);

    const reply = await run(
      bus,
      request({ source: STREAMING, params: { vm: 'vm1', n: [1, 2] } }),
    );
    const chunks = chunksOf('job-1');

    t.equal(reply.exitCode, 0);
    t.match(reply.stdout, /^mode=700 name=run\.sh\nline 1\nline 2\nline 3\n$/);
    t.equal(reply.stderr, 'err 1\nerr 2\nerr 3\n');
    t.same(reply.result, { vm: 'vm1', n: [1, 2] });
    t.equal(reply.chunks, chunks.length, 'the reply counts the chunks');
    t.same(
      chunks.map((c) => c.seq),
      chunks.map((_, i) => i + 1),
      'seq counts up from 1',
    );
    const text = (stream: string): string =>
      chunks
        .filter((c) => c.stream === stream)
        .map((c) => c.chunk)
        .join('');
    t.equal(text('stdout'), reply.stdout);
    t.equal(text('stderr'), reply.stderr);
    t.same(readdirSync(tmpDir), [], 'the run folder is removed');
  },
);

t.test(
  'controller - infers the language from the name, or is told',
  async (t) => {
    const { bus } = setup(t);

    const python = await run(
      bus,
      request({ name: 'hi.py', source: 'print("from python")' }),
    );
    const node = await run(
      bus,
      request({
        jobId: 'job-2',
        name: 'plain',
        language: 'node',
        source: 'console.log("from node")',
      }),
    );

    t.equal(python.stdout, 'from python\n');
    t.equal(node.stdout, 'from node\n');
  },
);

t.test('controller - a failed exit is an outcome, not an error', async (t) => {
  const { bus } = setup(t);

  const reply = await run(
    bus,
    request({ source: 'echo "disk full" >&2\nexit 4\n', allowFailure: false }),
  );

  t.equal(reply.exitCode, 4);
  t.equal(reply.stderr, 'disk full\n');
  t.equal(reply.cancelled, false);
});

t.test(
  'controller - a kill order stops the script and its group',
  async (t) => {
    const { bus, agents, chunksOf } = setup(t);

    const answer = run(bus, request({ source: HANG }));
    t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
    const pid = Number(/pid (\d+)/.exec(chunksOf('job-1')[0]!.chunk)![1]);
    t.equal(agents.running(), 1);

    bus.publish(AGENT_KILL, {
      jobId: 'job-1',
      reason: 'the job was cancelled',
    });
    const reply = await answer;

    t.equal(reply.cancelled, true);
    t.ok(await waitFor(() => processGone(pid)), 'the background sleep is gone');
    t.equal(agents.running(), 0);
  },
);

t.test('controller - ignores kills it cannot use', async (t) => {
  const { bus, agents } = setup(t);

  bus.publish(AGENT_KILL, { jobId: 'nobody' });
  bus.publish(AGENT_KILL, 'not a kill');
  const reply = await run(bus, request());

  t.equal(reply.stdout, 'hello\n');
  t.equal(agents.running(), 0);
});

t.test(
  'controller - close kills running scripts and stops serving',
  async (t) => {
    const { bus, agents, chunksOf } = setup(t);

    const answer = run(bus, request({ source: HANG }));
    t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');
    const closing = agents.close();
    t.equal(agents.close(), closing, 'a second close waits on the first');
    await closing;

    t.equal((await answer).cancelled, true);
    t.equal(agents.running(), 0);
    await t.rejects(run(bus, request({ jobId: 'job-2' })), {
      code: 'NO_RESPONDERS',
    });
  },
);

t.test('controller - refuses a second run of the same job', async (t) => {
  const { bus, chunksOf } = setup(t);

  const first = run(bus, request({ source: HANG }));
  t.ok(await waitFor(() => chunksOf('job-1').length > 0), 'script started');

  await t.rejects(run(bus, request()), { code: 'RUN_IN_PROGRESS' });
  bus.publish(AGENT_KILL, { jobId: 'job-1', reason: 'done testing' });
  t.equal((await first).cancelled, true);
});

t.test('controller - only the local agent is connected', async (t) => {
  const { bus } = setup(t);

  const error = await run(bus, request({ agent: 'node7' })).catch(
    (err: unknown) => err,
  );

  t.match(error, {
    code: 'AGENT_UNAVAILABLE',
    retryable: true,
    details: { agent: 'node7' },
  });
  t.match((error as Error).message, /node7.*'local'/);
});

t.test('controller - rejects bad requests, naming the field', async (t) => {
  const { bus, agents } = setup(t);
  const cases: Array<[string, unknown]> = [
    ['request', 'run this'],
    ['request', ['a list']],
    ['jobId', request({ jobId: '' })],
    ['jobId', request({ jobId: 'a.b' })],
    ['jobId', { ...request(), jobId: 7 }],
    ['agent', { ...request(), agent: undefined }],
    ['name', request({ name: '../x.sh' })],
    ['name', request({ name: '..' })],
    ['name', request({ name: 'a\\b.sh' })],
    ['name', request({ name: 'x'.repeat(256) })],
    ['source', { ...request(), source: 42 }],
    ['params', { ...request(), params: null }],
    ['params', { ...request(), params: [1] }],
    ['language', { ...request(), language: '' }],
    ['timeoutMs', { ...request(), timeoutMs: '100' }],
    ['timeoutMs', { ...request(), timeoutMs: null }],
    ['allowFailure', { ...request(), allowFailure: 'yes' }],
  ];

  for (const [field, message] of cases) {
    await t.rejects(
      run(bus, message),
      { code: 'BAD_INPUT', details: { field } },
      `bad ${field}: ${String(JSON.stringify(fieldOf(message, field))).slice(0, 40)}`,
    );
  }
  t.equal(agents.running(), 0);
});

function fieldOf(message: unknown, field: string): unknown {
  const isRequest =
    typeof message === 'object' && message !== null && !Array.isArray(message);
  return isRequest ? (message as Record<string, unknown>)[field] : message;
}

t.test('controller - passes the executor errors on', async (t) => {
  const { bus } = setup(t);

  await t.rejects(run(bus, request({ name: 'run.txt' })), {
    code: 'SCRIPT_BAD_LANGUAGE',
  });
  await t.rejects(run(bus, request({ timeoutMs: -5 })), {
    code: 'SCRIPT_BAD_REQUEST',
  });
});

t.test('controller - refuses an oversized source', async (t) => {
  const { bus } = setup(t);
  const source = `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`;

  await t.rejects(run(bus, request({ source })), {
    code: 'PAYLOAD_TOO_LARGE',
    details: { field: 'source', limit: MAX_SOURCE_BYTES },
  });
});

t.test('controller - requests and replies survive JSON', async (t) => {
  const { bus } = setup(t);
  const sent = request({
    source: 'echo \'{"ok":true,"list":[1,"two"]}\' > "$WFE_RESULT_FILE"\n',
    params: { nested: { a: [1, 2] }, flag: false },
    language: 'sh',
    timeoutMs: 5000,
    allowFailure: true,
  });

  const reply = await run(bus, JSON.parse(JSON.stringify(sent)));

  t.same(JSON.parse(JSON.stringify(sent)), sent);
  t.same(JSON.parse(JSON.stringify(reply)), reply);
  t.same(reply.result, { ok: true, list: [1, 'two'] });
});
