import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { INSTANCE_TYPE } from '../../../runtime/workflows/snapshots.js';
import { testEngine, writeTree } from '../../helpers/engine.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';

// Parallel regions give state paths with dots, in the snapshot's keys.
const WORKFLOW = `
name: fan
version: 1
implements: flow.fan
initial: fan
states:
  fan:
    parallel:
      a:
        initial: go
        states:
          go: { action: step.echo, output: a, retry: { attempts: 2, delayMs: 1 }, next: end }
          end: { final: true }
      b:
        initial: wait
        states:
          wait: { delayMs: 10, next: end }
          end: { final: true }
    next: end
  end:
    final: true
    result: ctx.a
`;

t.test('a workflow keeps its instance in a MongoDB DRP', async (t) => {
  const mongo = await mongoServer(t);
  const url = `${mongo.url.replace(/\/?$/, '/')}${freshDatabaseName('wf')}`;
  const workflows = mkdtempSync(join(tmpdir(), 'wfe-wf-mongo-'));
  t.teardown(() => rmSync(workflows, { recursive: true, force: true }));
  writeTree(workflows, { 'fan.yaml': WORKFLOW });
  const { engine } = await testEngine(
    t,
    { 'rootobject/step/echo/main.mjs': 'export function main() { return 7; }' },
    { mongodb: { url }, workflowRoots: [workflows] },
  );

  const job = await engine.run({ action: 'flow.fan' });

  t.equal(job.status, 'done', JSON.stringify(job.error));
  t.equal(job.result, 7);
  const instance = await engine.store.getObject(job.id);
  t.match(instance, {
    type: INSTANCE_TYPE,
    data: { workflow: 'fan', states: ['end'], status: 'done' },
  });
  t.match(JSON.parse(instance!.data.snapshot as string), {
    status: 'done',
  });
});
