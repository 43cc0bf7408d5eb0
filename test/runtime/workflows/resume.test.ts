import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect } from 'nats';
import t from 'tap';

import { openSqliteStore } from '../../../runtime/drp/sqlite-store.js';
import type { RootObject, Store } from '../../../runtime/drp/types.js';
import { writeTree } from '../../helpers/engine.js';
import { startEngineProcess } from '../../helpers/engine-process.js';
import { natsServer } from '../../helpers/nats.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DELAY_MS = 4_000;

const WORKFLOW = `
name: crash
version: 1
implements: flow.crash
initial: both
states:
  both:
    parallel:
      waits:
        initial: pause
        states:
          pause: { delayMs: ${DELAY_MS}, next: paused }
          paused: { final: true }
      works:
        initial: script
        states:
          script:
            rscript: { agent: "'local'", script: slow.sh }
            retry: { attempts: 2, delayMs: 0, on: [INTERRUPTED] }
            next: scripted
          scripted: { final: true }
    next: finish
  finish:
    action: step.echo
    output: echoed
    next: end
  end:
    final: true
    result: "'finished'"
`;

const TASKLETS = {
  'rootobject/step/echo/main.mjs': `export function main() { return 1; }`,
};

t.test('a SIGKILL mid-workflow: resumed, delay on time, once', async (t) => {
  const nats = await natsServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'wfe-resume-'));
  writeTree(join(dir, 'workflows'), {
    'crash.yaml': WORKFLOW,
    'slow.sh': '#!/bin/sh\nsleep 2\necho slept\n',
  });
  writeTree(join(dir, 'tasklets'), TASKLETS);
  const args = [
    '--nats',
    nats.url,
    '--data',
    join(dir, 'data'),
    '--tasklets',
    join(dir, 'tasklets'),
    '--workflows',
    join(dir, 'workflows'),
  ];

  let engine = await startEngineProcess(t, args);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const reply = await nc.request(
    'wfe.submit',
    encoder.encode(JSON.stringify({ action: 'flow.crash' })),
    { timeout: 10_000 },
  );
  const { jobId } = JSON.parse(decoder.decode(reply.data)) as {
    jobId: string;
  };

  // Read the store beside the running engine until the script runs.
  const reader = openSqliteStore({ path: join(dir, 'data', 'wfe.db') });
  t.teardown(() => reader.close());
  const before = await until(() => deadlineWithScript(reader, jobId));
  await engine.kill();

  // A new version while the instance is down: it finishes on its own.
  writeTree(join(dir, 'workflows'), {
    'crash.yaml': WORKFLOW.replace('version: 1', 'version: 2').replace(
      `result: "'finished'"`,
      `result: "'finished on v2'"`,
    ),
  });
  engine = await startEngineProcess(t, args);
  const readyAt = Date.now();
  t.teardown(() => engine.stop());
  const done = await until(async () => {
    const job = await reader.getJob(jobId);
    return job?.status === 'done' ? job : null;
  }, 20_000);

  t.equal(done.result, 'finished', 'the instance kept its version');
  const tree = await reader.jobTree(jobId);
  const echoes = tree.filter((job) => job.action === 'step.echo');
  t.equal(echoes.length, 1, 'the step after the join ran once');
  const scripts = tree.filter((job) => job.action === 'rscript:slow.sh');
  t.strictSame(
    scripts.map((job) => [job.idempotencyKey, job.status, job.error?.code]),
    [
      [`${jobId}:both.works.script:1`, 'error', 'INTERRUPTED'],
      [`${jobId}:both.works.script:2`, 'done', undefined],
    ],
    'the cut-off script was known as such and run again, once',
  );

  const instance = await reader.getObject(jobId);
  const context = snapshotOf(instance).context!;
  t.equal(
    context.deadlines!['both.waits.pause'],
    before,
    'the delay kept its deadline across the restart',
  );
  // When the delay fired: the first step of the history without it.
  const history = instance!.data.history as Array<{
    at: number;
    states: string[];
  }>;
  const fired = history.find(
    (step) => !step.states.includes('both.waits.pause'),
  )!.at;
  t.ok(fired >= before, 'the delay did not fire early');
  t.ok(
    fired < readyAt + DELAY_MS,
    'nor a whole delay after the engine was back',
  );

  const fresh = await nc.request(
    'wfe.submit',
    encoder.encode(JSON.stringify({ action: 'flow.crash', wait: true })),
    { timeout: 20_000 },
  );
  t.match(JSON.parse(decoder.decode(fresh.data)), {
    status: 'done',
    result: 'finished on v2',
  });
});

/** The delay's deadline, once the script has started. */
async function deadlineWithScript(
  store: Store,
  jobId: string,
): Promise<number | null> {
  const tree = await store.jobTree(jobId);
  if (!tree.some((job) => job.action === 'rscript:slow.sh')) return null;
  const instance = await store.getObject(jobId);
  return snapshotOf(instance).context?.deadlines?.['both.waits.pause'] ?? null;
}

/** The XState snapshot an instance record keeps as JSON text. */
function snapshotOf(instance: RootObject | null): {
  context?: { deadlines?: Record<string, number> };
} {
  const text = instance?.data.snapshot;
  return typeof text === 'string' ? JSON.parse(text) : {};
}

async function until<T>(
  check: () => Promise<T | null>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not reached within ${timeoutMs} ms`);
}
