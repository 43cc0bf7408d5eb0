import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t, { type Test } from 'tap';

import { createEngine, type Engine } from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';
import { instanceReaches } from '../helpers/workflows.js';

const examples = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
);

/** The shipped examples, with their pretend VMs in a folder of the test's. */
async function exampleEngine(
  t: Test,
): Promise<{ engine: Engine; vms: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-deploy-'));
  const vms = join(dir, 'vms');
  const previous = process.env.WFE_VM_ROOT;
  process.env.WFE_VM_ROOT = vms;
  const engine = await createEngine({
    taskletRoots: [join(examples, 'tasklets')],
    workflowRoots: [join(examples, 'workflows')],
    dataDir: join(dir, 'data'),
    logger: silentLogger(),
  });
  t.teardown(async () => {
    await engine.stop({ graceMs: 100 });
    if (previous === undefined) delete process.env.WFE_VM_ROOT;
    else process.env.WFE_VM_ROOT = previous;
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine, vms };
}

t.test('machine.deploy: checked, approved, live', async (t) => {
  const { engine, vms } = await exampleEngine(t);
  const job = await engine.submit({
    action: 'machine.deploy',
    params: { name: 'web7' },
  });

  await instanceReaches(engine.store, job.id, 'approval');
  await engine.sendEvent(job.id, 'approve', { by: 'ops' });
  const done = await engine.wait(job.id);

  t.equal(done.status, 'done', JSON.stringify(done.error));
  t.match(done.result, {
    name: 'web7',
    host: 'local',
    checks: [
      { name: 'web7', role: 'web', healthy: true },
      { name: 'web7', role: 'db', healthy: true },
    ],
  });
  t.equal(readFileSync(join(vms, 'web7', 'state'), 'utf8').trim(), 'running');
  const actions = (await engine.store.jobTree(job.id)).map((j) => j.action);
  t.equal(
    actions.filter((action) => action === 'rscript:health-check.sh').length,
    2,
    'one check on each agent',
  );
});

t.test('machine.deploy: rejected, and the machine stopped again', async (t) => {
  const { engine, vms } = await exampleEngine(t);
  const job = await engine.submit({
    action: 'machine.deploy',
    params: { name: 'web8' },
  });

  await instanceReaches(engine.store, job.id, 'approval');
  await engine.sendEvent(job.id, 'reject');
  const ended = await engine.wait(job.id);

  t.match(ended, { status: 'error', error: { code: 'REJECTED' } });
  t.equal(
    readFileSync(join(vms, 'web8', 'state'), 'utf8').trim(),
    'stopped',
    'the compensation of the start step ran',
  );
});
