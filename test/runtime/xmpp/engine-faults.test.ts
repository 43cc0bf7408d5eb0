import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t, { type Test } from 'tap';

import type { JobRecord } from '../../../runtime/drp/types.js';
import type { Engine, EngineOptions } from '../../../runtime/engine.js';
import {
  AGENT_PASSWORD,
  startAgentProcess,
} from '../../helpers/agent-process.js';
import { testEngine } from '../../helpers/engine.js';
import { prosodyServer, type ProsodyServer } from '../../helpers/prosody.js';

const PASSWORD = AGENT_PASSWORD;
// Far below the 30 s defaults: an ending within it shows ours were used.
const DEADLINE_MS = 20_000;

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The job's final record, or a failure once the deadline has passed. */
async function finalRecord(engine: Engine, jobId: string): Promise<JobRecord> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`job ${jobId} did not end in time`)),
      DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([engine.wait(jobId), deadline]);
  } finally {
    clearTimeout(timer);
  }
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

function readPid(file: string): number {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return /^\d+\n/.test(text) ? Number.parseInt(text, 10) : 0;
}

/** Kills a script left running by a test that failed or killed its agent. */
function reapScript(t: Test, pidFile: string): void {
  t.teardown(() => {
    const pid = readPid(pidFile);
    if (pid > 0 && !processGone(pid)) process.kill(pid, 'SIGKILL');
  });
}

interface Setup {
  prosody: ProsodyServer;
  engine: Engine;
  dir: string;
}

/** Prosody, and an engine whose action runs `script` on `agent`. */
async function setup(
  t: Test,
  agent: string,
  script: (dir: string) => string,
  agents: EngineOptions['agents'],
): Promise<Setup> {
  const prosody = await prosodyServer(t, {
    accounts: ['wfe', 'web1', 'ghost'].map((user) => ({
      user,
      password: PASSWORD,
    })),
  });
  const dir = t.testdir();
  const { engine } = await testEngine(
    t,
    {
      'actor/shell/remote/main.mjs': `
        export async function main(ctx) {
          const run = await ctx.agents.run(${JSON.stringify(agent)}, 'job.sh');
          return run.stdout;
        }
      `,
      'actor/shell/remote/job.sh': script(dir),
    },
    {
      xmpp: { url: prosody.url, jid: 'wfe@localhost', password: PASSWORD },
      agents,
    },
  );
  return { prosody, engine, dir };
}

async function scriptJob(engine: Engine, actionId: string) {
  const tree = await engine.store.jobTree(actionId);
  return tree.find((job) => job.action.startsWith('rscript:'));
}

/** Writes its pid, then waits to be killed. */
function hangingScript(dir: string): string {
  return `echo $$ > ${join(dir, 'pid')}\necho started\nexec sleep 300\n`;
}

t.test('xmpp engine faults - an agent killed mid-script', async (t) => {
  const { prosody, engine, dir } = await setup(t, 'web1', hangingScript, {
    lostGraceMs: 300,
  });
  const agent = await startAgentProcess(t, prosody.url, 'web1');
  const pidFile = join(dir, 'pid');
  reapScript(t, pidFile);

  const action = await engine.submit({ action: 'shell.remote' });
  await waitFor('the script started', () => readPid(pidFile) > 0);
  agent.kill('SIGKILL');

  const final = await finalRecord(engine, action.id);
  t.equal(final.status, 'error');
  t.equal(final.error?.code, 'AGENT_LOST', 'the action sees the loss');
  const script = await scriptJob(engine, action.id);
  t.equal(script?.status, 'lost', 'the rscript job is lost, not failed');
  t.match(script?.error, {
    code: 'AGENT_LOST',
    retryable: true,
    message: /web1@localhost went offline/,
  });
});

t.test('xmpp engine faults - cancelling stops the remote script', async (t) => {
  const { prosody, engine, dir } = await setup(t, 'web1', hangingScript, {});
  await startAgentProcess(t, prosody.url, 'web1');
  const pidFile = join(dir, 'pid');
  reapScript(t, pidFile);

  const action = await engine.submit({ action: 'shell.remote' });
  await waitFor('the script started', () => readPid(pidFile) > 0);
  const pid = readPid(pidFile);
  await engine.cancel(action.id, 'operator asked');

  await waitFor('the script is gone', () => processGone(pid));
  const final = await finalRecord(engine, action.id);
  t.equal(final.status, 'cancelled');
  const script = await scriptJob(engine, action.id);
  t.equal(script?.status, 'cancelled');
  t.match(script?.error, { message: /operator asked/ });

  let messages: string[] = [];
  await waitFor('the exit is logged', async () => {
    const logs = await engine.store.jobLogs(script!.id);
    messages = logs.map((entry) => entry.message);
    return messages.some((message) => message.startsWith('exit '));
  });
  t.equal(messages[0], 'started\n', 'the output came first');
  t.match(messages.at(-1), /^exit SIG/, 'then the exit: killed by a signal');
});

t.test('xmpp engine faults - an agent that never comes online', async (t) => {
  const { engine } = await setup(t, 'ghost', () => 'echo never\n', {
    startTimeoutMs: 300,
  });

  const action = await engine.submit({ action: 'shell.remote' });

  const final = await finalRecord(engine, action.id);
  t.equal(final.status, 'error');
  t.equal(final.error?.code, 'AGENT_UNAVAILABLE');
  const script = await scriptJob(engine, action.id);
  t.equal(script?.status, 'error');
  t.match(script?.error, {
    code: 'AGENT_UNAVAILABLE',
    retryable: true,
    message: /ghost@localhost did not come online within 300 ms/,
  });
  t.same(await engine.store.jobLogs(script!.id), [], 'nothing ran');
});

t.test('xmpp engine faults - a run outlives a prosody restart', async (t) => {
  // Output before the outage, output while prosody is down, and an exit
  // while it is down: all must arrive once it is back.
  const lines = Array.from({ length: 2_000 }, (_v, i) => `line ${i} €😀`);
  const { prosody, engine, dir } = await setup(
    t,
    'web1',
    (dir) =>
      [
        'echo before',
        `echo $$ > ${join(dir, 'pid')}`,
        `while [ ! -e ${join(dir, 'go')} ]; do sleep 0.02; done`,
        `cat ${join(dir, 'lines')}`,
        'echo after',
        `touch ${join(dir, 'finished')}`,
        '',
      ].join('\n'),
    { lostGraceMs: 60_000 },
  );
  writeFileSync(join(dir, 'lines'), lines.join('\n') + '\n');
  await startAgentProcess(t, prosody.url, 'web1');
  const pidFile = join(dir, 'pid');
  reapScript(t, pidFile);

  const action = await engine.submit({ action: 'shell.remote' });
  await waitFor('the script started', () => readPid(pidFile) > 0);
  const prosodyPid = prosody.pid;
  prosody.kill();
  await waitFor('prosody is down', () => processGone(prosodyPid));
  writeFileSync(join(dir, 'go'), '');
  await waitFor('the script finished', () => existsSync(join(dir, 'finished')));
  await prosody.restart();

  const final = await finalRecord(engine, action.id);
  t.equal(final.status, 'done', JSON.stringify(final.error));
  t.equal(
    final.result,
    `before\n${lines.join('\n')}\nafter\n`,
    'the full output, in order',
  );
  const script = await scriptJob(engine, action.id);
  t.equal(script?.status, 'done');
});
