import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { testEngine, writeTree } from '../../helpers/engine.js';
import { natsServer } from '../../helpers/nats.js';
import { instanceReaches } from '../../helpers/workflows.js';
import { wfe } from './cli-io.js';

const WORKFLOW = `
name: gate
version: 1
implements: flow.gate
initial: closed
states:
  closed:
    on:
      open:
        - if: "event.key == 'secret'"
          next: opened
  opened:
    final: true
    result: "'opened'"
`;

t.test('wfe event moves a waiting instance on, over NATS', async (t) => {
  const nats = await natsServer(t);
  const workflows = mkdtempSync(join(tmpdir(), 'wfe-event-'));
  t.teardown(() => rmSync(workflows, { recursive: true, force: true }));
  writeTree(workflows, { 'gate.yaml': WORKFLOW });
  const { engine } = await testEngine(
    t,
    {},
    {
      nats: { url: nats.url },
      workflowRoots: [workflows],
    },
  );
  const flag = ['--nats', nats.url];
  const job = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, job.id, 'closed');

  const shown = await wfe(['jobs', 'show', job.id, ...flag]);
  t.equal(shown.code, 0, shown.stderr);
  t.match(
    shown.stdout,
    /workflow gate v1\n {2}now in {4}closed\n {2}history\n/,
  );
  const asJson = await wfe(['jobs', 'show', job.id, '--json', ...flag]);
  t.match(JSON.parse(asJson.stdout), {
    workflow: { name: 'gate', version: 1, states: ['closed'] },
  });

  const wrongKey = await wfe([
    'event',
    job.id,
    'open',
    '--payload',
    '{"key":"no"}',
    ...flag,
  ]);
  t.equal(wrongKey.code, 0, wrongKey.stderr);
  t.equal(wrongKey.stdout, `${job.id} got open\n`);
  const opened = await wfe([
    'event',
    job.id,
    'open',
    '--payload',
    '{"key":"secret"}',
    ...flag,
  ]);
  t.equal(opened.code, 0, opened.stderr);
  t.equal((await engine.wait(job.id)).result, 'opened');

  const late = await wfe(['event', job.id, 'open', ...flag]);
  t.equal(late.code, 1);
  t.match(
    late.stderr,
    /WORKFLOW_ENDED: workflow instance .* has ended \(done\)/,
  );
  const unknown = await wfe(['event', 'no-such-job', 'open', ...flag]);
  t.match(unknown.stderr, /NOT_FOUND: no workflow instance no-such-job/);
  const badPayload = await wfe([
    'event',
    job.id,
    'open',
    '--payload',
    '[1]',
    ...flag,
  ]);
  t.equal(badPayload.code, 2);
  t.match(badPayload.stderr, /payload/);
  const noName = await wfe(['event', job.id, ...flag]);
  t.equal(noName.code, 2);
});
