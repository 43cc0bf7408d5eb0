import t from 'tap';

import type { JobRecord } from '../../../runtime/drp/types.js';
import { instanceReaches } from '../../helpers/workflows.js';
import { inspectedEngine, readEvents } from '../../helpers/inspector.js';

t.test('the overview shows the actor tree, agents and metrics', async (t) => {
  const { get, engine } = await inspectedEngine(t);
  await engine.run({ action: 'demo.echo', params: { say: 'hi' } });

  const overview = await json(get('/api/overview'));
  const ids = overview.actors.children.map((child: any) => child.id);

  t.equal(overview.engine.role, 'all');
  t.equal(overview.engine.store.kind, 'sqlite');
  t.equal(overview.actors.id, 'root');
  t.same(ids, ['drp-writer', 'jobs', 'workflows', 'agents']);
  t.match(overview.actors.children[0], {
    kind: 'writer',
    mailbox: { name: 'drp-writer', capacity: 10_000 },
    restarts: 0,
    lastError: null,
  });
  t.same(
    overview.agents.map((agent: any) => agent.id),
    ['local'],
  );
  t.match(overview.jobs, { started: 1, finished: 1, running: 0 });
  t.equal(overview.metrics.intervalMs, 1000);
});

t.test('running jobs and instances appear under their groups', async (t) => {
  const { get, engine } = await inspectedEngine(t);
  const slow = await engine.submit({ action: 'demo.slow' });
  const gate = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, gate.id, 'approval');

  const { actors } = await json(get('/api/overview'));
  const group = (id: string) =>
    actors.children.find((child: any) => child.id === id);

  t.ok(
    group('jobs').children.some(
      (job: any) => job.jobId === slow.id && /^step 1\/1$/.test(job.state),
    ),
    'the slow job is listed with its step',
  );
  t.match(group('workflows').children, [
    { id: `workflow:${gate.id}`, state: 'approval', jobId: gate.id },
  ]);
  await engine.cancel(slow.id);
  await engine.cancel(gate.id);
});

t.test('the jobs list filters and pages', async (t) => {
  const { get, engine } = await inspectedEngine(t);
  const made: JobRecord[] = [];
  for (let i = 0; i < 5; i += 1) {
    made.push(await engine.run({ action: 'demo.echo', params: { i } }));
  }
  const slow = await engine.submit({ action: 'demo.slow' });
  t.teardown(() => engine.cancel(slow.id).catch(() => {}));
  const list = (query: string) => json(get(`/api/jobs?${query}`));

  const first = await list('action=demo.echo&limit=2');
  const second = await list(`action=demo.echo&limit=2&before=${first.next}`);
  const third = await list(`action=demo.echo&limit=2&before=${second.next}`);
  const newestFirst = made.map((job) => job.id).reverse();

  t.same(
    [...first.jobs, ...second.jobs, ...third.jobs].map((job) => job.id),
    newestFirst,
  );
  t.equal(third.next, null, 'the last page has no next');
  t.same(
    (await list('status=running')).jobs.map((job: any) => job.id),
    [slow.id],
  );

  const beforeThird = await list(
    `action=demo.echo&before=t:${made[2]!.createdAt}`,
  );
  t.ok(
    beforeThird.jobs.every((job: any) => job.createdAt < made[2]!.createdAt),
    'a time cursor keeps older jobs only',
  );
});

t.test('bad list queries are refused, naming the parameter', async (t) => {
  const { get } = await inspectedEngine(t);
  const cases = {
    'status=sleeping': /status must be one of/,
    'limit=0': /limit must be a whole number from 1 to 200/,
    'limit=abc': /got 'abc'/,
    'before=t:soon': /before=t: needs a time/,
    'before=..%2Fetc': /before must be a job id/,
  };
  for (const [query, message] of Object.entries(cases)) {
    const response = await get(`/api/jobs?${query}`);
    const body: any = await response.json();
    t.equal(response.status, 400, query);
    t.match(body.error, { code: 'BAD_QUERY', message }, query);
  }
});

t.test('a job page streams the record, the log and the end', async (t) => {
  const { base, engine, get } = await inspectedEngine(t);
  const job = await engine.submit({ action: 'hv.ticks', params: { n: 3 } });
  const [, script] = await waitTree(engine, job.id, 2);

  const events = await readEvents(
    `${base}/api/jobs/${script!.id}/stream`,
    (seen) => seen.some((event) => event.event === 'end'),
  );
  const statuses = events
    .filter((event) => event.event === 'job')
    .map((event) => event.data.job.status);
  const output = events
    .filter((event) => event.event === 'logs')
    .flatMap((event) => event.data.entries);
  const stdout = output
    .filter((entry: any) => entry.data?.stream === 'stdout')
    .map((entry: any) => entry.message)
    .join('');

  t.equal(statuses.at(-1), 'done');
  t.equal(stdout, 'tick 1\ntick 2\ntick 3\n');
  t.same(
    output.map((entry: any) => entry.seq),
    output.map((_: unknown, index: number) => index + 1),
    'each line once, in order',
  );
  t.equal(events.at(-1)!.event, 'end');

  const detail = await json(get(`/api/jobs/${job.id}`));
  t.equal(detail.tree.length, 2, 'the detail has the subtree');
  t.equal(detail.instance, null);
});

t.test('an unknown job is a clear 404', async (t) => {
  const { get, base } = await inspectedEngine(t);
  const response = await get('/api/jobs/0000nosuchjob');
  t.equal(response.status, 404);
  t.match(await response.json(), { error: { code: 'NOT_FOUND' } });

  const events = await readEvents(
    `${base}/api/jobs/0000nosuchjob/stream`,
    () => false,
  );
  t.match(events, [
    { event: 'problem', data: { error: { code: 'NOT_FOUND' } } },
  ]);
  t.equal((await get('/api/nothing')).status, 404);
  t.equal((await get('/api/jobs/x/unknown')).status, 404);
});

t.test('cancel from the page, and its refusals', async (t) => {
  const { engine, post } = await inspectedEngine(t);
  const slow = await engine.submit({ action: 'demo.slow' });

  const form = await fetchForm(post, `/api/jobs/${slow.id}/cancel`);
  t.equal(form, 415, 'a form post is refused');
  const foreign = await post(
    `/api/jobs/${slow.id}/cancel`,
    {},
    { origin: 'http://evil.example' },
  );
  t.equal(foreign.status, 403, 'another origin is refused');

  const cancelled = await post(`/api/jobs/${slow.id}/cancel`, {
    reason: 'stop it',
  });
  t.equal(cancelled.status, 202);
  t.match(await engine.wait(slow.id), { status: 'cancelled' });

  const again = await post(`/api/jobs/${slow.id}/cancel`, {});
  t.equal(again.status, 409);
  t.match(await again.json(), { error: { code: 'JOB_FINISHED' } });
});

t.test('events reach a waiting workflow; its diagram is served', async (t) => {
  const { engine, get, post, base } = await inspectedEngine(t);
  const gate = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, gate.id, 'approval');

  const detail = await json(get(`/api/jobs/${gate.id}`));
  t.match(detail.instance, {
    workflow: 'gate',
    states: ['approval'],
    events: ['approve', 'reject'],
  });
  const svg = await get(`/api/jobs/${gate.id}/diagram.svg`);
  t.equal(svg.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
  t.match(await svg.text(), /data-id="approval"/);

  const bad = await post(`/api/jobs/${gate.id}/events`, { type: '9 lives' });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { error: { code: 'BAD_EVENT' } });
  const untyped = await post(`/api/jobs/${gate.id}/events`, { payload: 1 });
  t.match(await untyped.json(), { error: { code: 'BAD_EVENT' } });
  const notJson = await fetch(`${base}/api/jobs/${gate.id}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":',
  });
  t.equal(notJson.status, 400);
  t.match(await notJson.json(), { error: { code: 'BAD_JSON' } });

  const sent = await post(`/api/jobs/${gate.id}/events`, { type: 'approve' });
  t.equal(sent.status, 202);
  t.match(await engine.wait(gate.id), { status: 'done', result: { ok: true } });

  const ended = await post(`/api/jobs/${gate.id}/events`, { type: 'approve' });
  t.match(await ended.json(), { error: { code: 'WORKFLOW_ENDED' } });
  const plain = await engine.run({ action: 'demo.echo' });
  const noDiagram = await get(`/api/jobs/${plain.id}/diagram.svg`);
  t.equal(noDiagram.status, 404);
});

async function waitTree(engine: any, id: string, size: number) {
  for (;;) {
    const tree = await engine.store.jobTree(id);
    if (tree.length >= size) return tree;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function fetchForm(post: any, path: string): Promise<number> {
  const response = await post(
    path,
    {},
    {
      'content-type': 'application/x-www-form-urlencoded',
    },
  );
  return response.status;
}

async function json(response: Promise<Response>): Promise<any> {
  return (await response).json();
}

t.test('a workflow cancelled from the page compensates and ends', async (t) => {
  const { engine, post } = await inspectedEngine(t);
  const gate = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, gate.id, 'approval');

  const cancelled = await post(`/api/jobs/${gate.id}/cancel`, {});
  t.equal(cancelled.status, 202);
  t.match(await engine.wait(gate.id), { status: 'cancelled' });
});
