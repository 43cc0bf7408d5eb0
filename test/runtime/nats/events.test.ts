import { connect as connectTcp } from 'node:net';

import t from 'tap';

import { natsTestEngine, until } from '../../helpers/nats-engine.js';

const TASKLETS = {
  'rootobject/thing/do/main.mjs': `
    export async function main(ctx) {
      ctx.log.info('working on it', { n: ctx.params.n });
      if (ctx.params.child) await ctx.actions.run('thing.leaf');
      return 'ok';
    }
  `,
  'rootobject/thing/leaf/main.mjs': `
    export const main = (ctx) => { ctx.log.info('leaf'); return 'leaf'; };
  `,
};

const decoder = new TextDecoder();

t.test('nats events - a job publishes its changes and its log', async (t) => {
  const { client, request } = await natsTestEngine(t, TASKLETS);
  const seen: Array<{ subject: string; body: any }> = [];
  client.subscribe('wfe.jobs.*.*', {
    callback: (_err, msg) =>
      seen.push({
        subject: msg.subject,
        body: JSON.parse(decoder.decode(msg.data)),
      }),
  });
  await client.flush();

  const { jobId } = await request('wfe.submit', {
    action: 'thing.do',
    params: { n: 1, child: true },
    wait: true,
  });
  await until(
    () => seen.some((e) => e.subject === `wfe.jobs.${jobId}.done`),
    5000,
    'the done event',
  );

  const own = seen.filter((e) => e.subject.startsWith(`wfe.jobs.${jobId}.`));
  const statuses = own
    .filter((e) => !e.subject.endsWith('.log'))
    .map((e) => e.body.status);
  t.equal(statuses[0], 'waiting', 'waiting comes first');
  t.equal(statuses.at(-1), 'done', 'done comes last');
  t.notOk('params' in own[0]!.body, 'events leave the params out');
  t.equal(own.at(-1)!.body.result, 'ok', 'the end carries the result');

  const logs = own.filter((e) => e.subject.endsWith('.log'));
  t.match(logs[0]?.body, {
    jobId,
    entries: [{ seq: 1, message: 'working on it', data: { n: 1 } }],
  });

  const child = seen.find(
    (e) =>
      e.body.rootId === jobId &&
      e.body.id !== jobId &&
      e.body.status === 'done',
  );
  t.ok(child, 'the child job publishes under its own id, with the root id');
});

t.test(
  'nats queries - one job with its tree and logs, and pages',
  async (t) => {
    const { request } = await natsTestEngine(t, TASKLETS);
    const { jobId } = await request('wfe.submit', {
      action: 'thing.do',
      params: { child: true },
      wait: true,
    });

    const details = await request('wfe.jobs.get', { id: jobId });
    t.equal(details.job.id, jobId);
    t.same(
      details.tree.map((j: any) => j.action),
      ['thing.do', 'thing.leaf'],
      'the tree holds the job and its child',
    );
    t.match(details.logs, [{ seq: 1, message: 'working on it' }]);
    const later = await request('wfe.jobs.get', { id: jobId, afterSeq: 1 });
    t.same(later.logs, [], 'afterSeq skips lines already seen');

    for (let i = 0; i < 4; i++) {
      await request('wfe.submit', { action: 'thing.leaf', wait: true });
    }
    const first = await request('wfe.jobs.list', {
      action: 'thing.leaf',
      limit: 3,
    });
    t.equal(first.jobs.length, 3);
    t.type(first.next, 'string', 'a next page follows');
    const second = await request('wfe.jobs.list', {
      action: 'thing.leaf',
      limit: 3,
      before: first.next,
    });
    t.equal(second.jobs.length, 2, 'five leaves in all');
    t.equal(second.next, null, 'the last page says so');

    const tops = await request('wfe.jobs.list', {
      parentId: null,
      status: 'done',
    });
    t.equal(tops.jobs.length, 5, 'top-level jobs only');

    const bad: Array<[unknown, string, string]> = [
      [{ id: 'nope' }, 'wfe.jobs.get', 'NOT_FOUND'],
      [{}, 'wfe.jobs.get', 'BAD_QUERY'],
      [{ id: jobId, logLimit: 0 }, 'wfe.jobs.get', 'BAD_QUERY'],
      [{ status: 'sleeping' }, 'wfe.jobs.list', 'BAD_QUERY'],
      [{ limit: 'ten' }, 'wfe.jobs.list', 'BAD_QUERY'],
      ['all', 'wfe.jobs.list', 'BAD_QUERY'],
    ];
    for (const [body, subject, code] of bad) {
      const reply = await request(subject, body);
      t.equal(reply.error?.code, code, `${subject} ${JSON.stringify(body)}`);
    }
  },
);

t.test(
  'nats events - a subscriber that never reads does not stall',
  async (t) => {
    const { engine, server } = await natsTestEngine(t, TASKLETS);

    // A raw client that subscribes to everything, then stops reading its
    // socket: the server must drop it, not hold back the publisher.
    const stuck = connectTcp(server.port, '127.0.0.1');
    t.teardown(() => stuck.destroy());
    await new Promise<void>((resolve) => stuck.once('data', () => resolve()));
    stuck.write('CONNECT {"verbose":false}\r\nSUB wfe.jobs.> 1\r\nPING\r\n');
    await new Promise<void>((resolve) => stuck.once('data', () => resolve()));
    stuck.pause();

    const jobs = await Promise.all(
      Array.from({ length: 3000 }, (_, n) =>
        engine.run({ action: 'thing.do', params: { n, pad: 'x'.repeat(512) } }),
      ),
    );
    t.equal(
      jobs.filter((job) => job.status === 'done').length,
      3000,
      'every job ended while the subscriber slept',
    );
  },
);
