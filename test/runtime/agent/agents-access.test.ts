import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';

import { busAgents } from '../../../runtime/agent/agents-access.js';
import { serveAgents } from '../../../runtime/agent/controller.js';
import {
  AGENT_KILL,
  AGENT_RUN,
  agentOutputSubject,
  MAX_SOURCE_BYTES,
  type AgentRunRequest,
} from '../../../runtime/agent/protocol.js';
import { LocalBus } from '../../../runtime/bus/local.js';
import { systemClock } from '../../../runtime/clock.js';
import { openSqliteStore } from '../../../runtime/drp/sqlite-store.js';
import type { JobRecord, Store, Write } from '../../../runtime/drp/types.js';
import {
  DRP_WRITE,
  DrpWriterClient,
} from '../../../runtime/drp/writer-client.js';
import { createIdGenerator } from '../../../runtime/ids.js';
import { JobRunner, type LiveJob } from '../../../runtime/jobs/runner.js';
import { silentLogger } from '../../../runtime/log.js';
import type { AgentsAccess } from '../../../runtime/tasklets/types.js';
import { writeTree } from '../../helpers/engine.js';

interface Setup {
  bus: LocalBus;
  store: Store;
  runner: JobRunner;
  agents: AgentsAccess;
  /** Where the calling tasklet lives; scripts go in ./rscripts. */
  dir: string;
  controller: ReturnType<typeof serveAgents>;
  /** The rscript jobs below the calling job, oldest first. */
  scriptJobs(): Promise<JobRecord[]>;
}

/**
 * A job runner writing straight into an in-memory store over a local
 * bus, an agent controller on the same bus, and a running parent job
 * for rscripts to hang below.
 */
async function setup(
  t: Test,
  files: Record<string, string>,
  options: { controller?: boolean } = {},
): Promise<Setup> {
  const logger = silentLogger();
  const dir = mkdtempSync(join(tmpdir(), 'wfe-agents-'));
  writeTree(dir, files);

  const bus = new LocalBus({ logger });
  const store = openSqliteStore({ path: ':memory:' });
  bus.serve(DRP_WRITE, async (write) => {
    const [outcome] = await store.commit([write as Write]);
    return outcome;
  });
  const runner = new JobRunner({
    store,
    writer: new DrpWriterClient(bus),
    clock: systemClock,
    ids: createIdGenerator(),
    logger,
    owner: 'test',
  });
  const controller = serveAgents(bus, {
    logger,
    tmpDir: join(dir, 'runs'),
  });
  if (options.controller === false) await controller.close();

  let release: () => void = () => {};
  let parent: LiveJob | undefined;
  await runner.start(
    {
      action: 'hv.test',
      params: {},
      target: null,
      maxDurationMs: null,
      idempotencyKey: null,
    },
    null,
    (job) => {
      parent = job;
      return {
        steps: 1,
        runStep: () =>
          new Promise((resolve) => (release = () => resolve('stop'))),
        result: () => null,
        abort: () => release(),
      };
    },
  );

  t.teardown(async () => {
    release();
    await runner.wait(parent!.record.id);
    await controller.close();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    bus,
    store,
    runner,
    dir,
    controller,
    agents: busAgents({
      bus,
      runner,
      job: parent!,
      taskletFile: join(dir, 'hv', 'main.mjs'),
      logger,
    }),
    scriptJobs: async () => (await store.jobTree(parent!.record.id)).slice(1),
  };
}

async function waitFor(check: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function durationOf(entry: { data?: unknown } | undefined): unknown {
  return (entry?.data as { durationMs?: unknown } | undefined)?.durationMs;
}

const OK = [
  'echo "got $WFE_PARAMS"',
  'sleep 0.05',
  'echo "more" >&2',
  'echo \'{"double":14}\' > "$WFE_RESULT_FILE"',
].join('\n');

t.test('agents access - runs an rscript as a child job', async (t) => {
  const { agents, store, scriptJobs } = await setup(t, {
    'rscripts/ok.sh': OK,
  });

  const result = await agents.run('local', '../rscripts/ok.sh', {
    params: { n: 7 },
  });
  const [script] = await scriptJobs();
  const logs = await store.jobLogs(script!.id);

  t.same(result, {
    exitCode: 0,
    stdout: 'got {"n":7}\n',
    stderr: 'more\n',
    result: { double: 14 },
  });
  t.match(script, {
    action: 'rscript:ok.sh',
    status: 'done',
    params: { n: 7 },
  });
  t.same(
    logs.map((entry) => [entry.message, entry.data]),
    [
      ['got {"n":7}\n', { stream: 'stdout' }],
      ['more\n', { stream: 'stderr' }],
      [
        'exit 0',
        { exitCode: 0, signal: null, durationMs: durationOf(logs[2]) },
      ],
    ],
    'output in order, then the exit',
  );
});

t.test('agents access - script failures are structured errors', async (t) => {
  const { agents, dir } = await setup(t, {
    'rscripts/fail.sh': 'echo "disk full" >&2\nexit 4\n',
    'rscripts/hang.sh': 'sleep 30\n',
    'rscripts/plain': 'print("py")\n',
  });

  await t.rejects(agents.run('local', '../rscripts/fail.sh'), {
    code: 'SCRIPT_FAILED',
    message: 'script fail.sh exited with code 4',
    details: { exitCode: 4, stderrTail: 'disk full\n' },
  });
  t.match(
    await agents.run('local', '../rscripts/fail.sh', { allowFailure: true }),
    { exitCode: 4, stderr: 'disk full\n' },
  );
  await t.rejects(
    agents.run('local', '../rscripts/hang.sh', { timeoutMs: 300 }),
    { code: 'SCRIPT_TIMEOUT', retryable: true },
  );
  t.match(
    await agents.run('local', join(dir, 'rscripts/plain'), {
      language: 'python',
    }),
    { stdout: 'py\n' },
    'an absolute path and an explicit language',
  );
  await t.rejects(
    agents.run('local', '../rscripts/fail.sh', { language: 'cobol' }),
    { code: 'SCRIPT_BAD_LANGUAGE' },
    'the controller refuses what the executor cannot run',
  );
});

t.test('agents access - a missing script fails its job', async (t) => {
  const { agents, dir, scriptJobs } = await setup(t, {});
  const file = join(dir, 'rscripts', 'gone.sh');

  await t.rejects(agents.run('local', '../rscripts/gone.sh'), {
    code: 'SCRIPT_NOT_FOUND',
    message: `script not found: ${file}`,
  });
  await t.rejects(agents.run('local', '../rscripts'), {
    code: 'SCRIPT_NOT_FOUND',
  });
  t.match(await scriptJobs(), [
    { action: 'rscript:gone.sh', status: 'error' },
    { action: 'rscript:rscripts', status: 'error' },
  ]);
});

t.test('agents access - refuses an oversized script', async (t) => {
  const { agents } = await setup(t, {
    'rscripts/big.sh': `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`,
  });

  await t.rejects(agents.run('local', '../rscripts/big.sh'), {
    code: 'PAYLOAD_TOO_LARGE',
  });
});

t.test('agents access - bad calls are refused before any job', async (t) => {
  const { agents, scriptJobs } = await setup(t, {});

  await t.rejects(agents.run('', 'x.sh'), { code: 'BAD_INPUT' });
  await t.rejects(agents.run('local', ''), { code: 'BAD_INPUT' });
  t.same(await scriptJobs(), []);
});

// The controller decides which agents exist (remote ones come over
// XMPP), so the call reaches it and its job records the refusal.
t.test('agents access - unknown agents are unavailable', async (t) => {
  const { agents, scriptJobs } = await setup(t, { 'rscripts/ok.sh': OK });

  await t.rejects(agents.run('node7', '../rscripts/ok.sh'), {
    code: 'AGENT_UNAVAILABLE',
    retryable: true,
    details: { agent: 'node7' },
  });
  t.match(await scriptJobs(), [{ action: 'rscript:ok.sh', status: 'error' }]);
});

t.test('agents access - no controller means no agent', async (t) => {
  const { agents } = await setup(
    t,
    { 'rscripts/ok.sh': OK },
    { controller: false },
  );

  await t.rejects(agents.run('local', '../rscripts/ok.sh'), {
    code: 'AGENT_UNAVAILABLE',
    retryable: true,
  });
});

t.test('agents access - cancelling the job kills the script', async (t) => {
  const { agents, bus, runner, controller, store, scriptJobs } = await setup(
    t,
    { 'rscripts/hang.sh': 'sleep 300 &\necho "pid $!"\nwait\n' },
  );
  const kills: unknown[] = [];
  bus.subscribe(AGENT_KILL, (message) => kills.push(message));

  const running = agents.run('local', '../rscripts/hang.sh');
  running.catch(() => {});
  let pid = 0;
  const started = await waitFor(async () => {
    const [script] = await scriptJobs();
    const logs = script ? await store.jobLogs(script.id) : [];
    pid = Number(/pid (\d+)/.exec(logs[0]?.message ?? '')?.[1] ?? 0);
    return pid > 0;
  });
  t.ok(started, 'the script started');
  const [script] = await scriptJobs();
  await runner.cancel(script!.id, 'no longer needed');

  await t.rejects(running, { code: 'CANCELLED' });
  t.match(kills, [{ jobId: script!.id, reason: /no longer needed/ }]);
  t.ok(await waitFor(() => processGone(pid)), 'the background sleep is gone');
  t.ok(await waitFor(() => controller.running() === 0), 'the run ended');
});

/** A controller that answers with `chunks` after publishing `sends`. */
function fakeController(
  bus: LocalBus,
  sends: number[],
  options: { chunks?: number; late?: number[] } = {},
): void {
  const publish = (jobId: string, seq: number): void =>
    bus.publish(agentOutputSubject(jobId), {
      jobId,
      seq,
      stream: 'stdout',
      chunk: `chunk ${seq}\n`,
    });

  bus.serve(AGENT_RUN, (message) => {
    const { jobId } = message as AgentRunRequest;
    for (const seq of sends) publish(jobId, seq);
    bus.publish(agentOutputSubject(jobId), { jobId, seq: 'x' });
    bus.publish(agentOutputSubject(jobId), { ...message!, jobId: 'other' });
    setTimeout(() => {
      for (const seq of options.late ?? []) publish(jobId, seq);
    }, 20);
    return {
      exitCode: 0,
      signal: null,
      stdout: '',
      stderr: '',
      result: null,
      resultError: null,
      durationMs: 1,
      timedOut: false,
      cancelled: false,
      truncated: { stdout: false, stderr: false },
      chunks: options.chunks ?? sends.length,
    };
  });
}

async function loggedMessages(setup: Setup): Promise<string[]> {
  const [script] = await setup.scriptJobs();
  const logs = await setup.store.jobLogs(script!.id);
  return logs.map((entry) => entry.message);
}

t.test('agents access - output is logged in order, once', async (t) => {
  const context = await setup(
    t,
    { 'rscripts/ok.sh': OK },
    { controller: false },
  );
  fakeController(context.bus, [2, 1, 2, 4], { chunks: 5, late: [3, 5, 1] });

  await context.agents.run('local', '../rscripts/ok.sh');

  t.same(await loggedMessages(context), [
    'chunk 1\n',
    'chunk 2\n',
    'chunk 3\n',
    'chunk 4\n',
    'chunk 5\n',
    'exit 0',
  ]);
});

t.test('agents access - lost chunks are said and skipped', async (t) => {
  const context = await setup(
    t,
    { 'rscripts/ok.sh': OK },
    { controller: false },
  );
  fakeController(context.bus, [1, 3], { chunks: 3 });

  await context.agents.run('local', '../rscripts/ok.sh');

  t.same(await loggedMessages(context), [
    'chunk 1\n',
    '1 output chunks were lost on the way',
    'chunk 3\n',
    'exit 0',
  ]);
});

t.test('agents access - an unusable reply fails the job', async (t) => {
  const context = await setup(
    t,
    { 'rscripts/ok.sh': OK },
    { controller: false },
  );
  context.bus.serve(AGENT_RUN, () => ({ exitCode: 'zero' }));

  await t.rejects(context.agents.run('local', '../rscripts/ok.sh'), {
    code: 'AGENT_BAD_REPLY',
  });
});
