import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { createEngine, type Engine } from '../../../runtime/engine.js';
import { silentLogger } from '../../../runtime/log.js';
import { writeTree } from '../../helpers/engine.js';
import { startEngineProcess } from '../../helpers/engine-process.js';
import { natsServer } from '../../helpers/nats.js';
import { instanceReaches } from '../../helpers/workflows.js';

const WORKFLOW = `
name: hold
version: 1
implements: flow.hold
initial: held
states:
  held:
    on: { go: done }
  done:
    final: true
    result: "'went on'"
`;

t.test('a worker that dies: another worker resumes its instance', async (t) => {
  const nats = await natsServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'wfe-wf-roles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTree(join(dir, 'workflows'), { 'hold.yaml': WORKFLOW });
  mkdirSync(join(dir, 'tasklets'));
  const common = {
    taskletRoots: [join(dir, 'tasklets')],
    workflowRoots: [join(dir, 'workflows')],
    nats: { url: nats.url },
    logger: silentLogger(),
  };
  const engines: Engine[] = [];
  t.teardown(async () => {
    for (const engine of engines.reverse()) await engine.stop({ graceMs: 0 });
  });

  // Workers say they are alive every 2 s; 5 s of silence is death here.
  const writer = await createEngine({
    ...common,
    role: 'writer',
    dataDir: join(dir, 'writer'),
    liveness: { heartbeatMs: 200, deadAfterMs: 5_000 },
  });
  engines.push(writer);
  const doomed = await startEngineProcess(t, [
    '--nats',
    nats.url,
    '--role',
    'worker',
    '--data',
    join(dir, 'doomed'),
    '--tasklets',
    join(dir, 'tasklets'),
    '--workflows',
    join(dir, 'workflows'),
  ]);
  const submitted = await submitOverNats(nats.url);
  await instanceReaches(writer.store, submitted, 'held');

  const survivor = await createEngine({
    ...common,
    role: 'worker',
    dataDir: join(dir, 'survivor'),
  });
  engines.push(survivor);
  await doomed.kill();

  // Once the writer has marked the dead worker's job, the survivor
  // resumes the instance and takes the event.
  await until(() =>
    survivor.sendEvent(submitted, 'go').then(
      () => true,
      () => false,
    ),
  );
  const done = await until(async () => {
    const job = await writer.store.getJob(submitted);
    return job?.status === 'done' ? job : null;
  });

  t.equal(done.result, 'went on');
  const instance = await writer.store.getObject(submitted);
  t.strictSame(
    (instance!.data.history as Array<{ states: string[] }>).map(
      (step) => step.states,
    ),
    [['held'], ['done']],
    'one history across both workers',
  );
});

async function submitOverNats(url: string): Promise<string> {
  const { connect } = await import('nats');
  const nc = await connect({ servers: url });
  try {
    const reply = await nc.request(
      'wfe.submit',
      new TextEncoder().encode(JSON.stringify({ action: 'flow.hold' })),
      { timeout: 10_000 },
    );
    return (
      JSON.parse(new TextDecoder().decode(reply.data)) as { jobId: string }
    ).jobId;
  } finally {
    await nc.close();
  }
}

async function until<T>(check: () => Promise<T>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not reached within ${timeoutMs} ms`);
}
