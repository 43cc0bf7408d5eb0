import t from 'tap';

import { natsTestEngine } from '../../helpers/nats-engine.js';

const TASKLETS = {
  'rootobject/thing/do/main.mjs': `
    export const main = (ctx) => ({ doubled: (ctx.params.n ?? 0) * 2 });
  `,
  'rootobject/thing/fail/main.mjs': `
    export const main = () => {
      throw Object.assign(new Error('no such thing'), { code: 'THING_GONE' });
    };
  `,
  'rootobject/thing/hold/main.mjs': `
    export const main = (ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  `,
};

t.test('nats submit - a job is durable before the answer', async (t) => {
  const { engine, request } = await natsTestEngine(t, TASKLETS);

  const reply = await request('wfe.submit', {
    action: 'thing.do',
    params: { n: 2 },
  });
  t.match(reply, { jobId: String, status: 'waiting' });

  const stored = await engine.store.getJob(reply.jobId);
  t.equal(stored?.action, 'thing.do', 'the job was stored before the reply');
  t.equal((await engine.wait(reply.jobId)).status, 'done');
});

t.test('nats submit - wait answers with the result or the error', async (t) => {
  const { request } = await natsTestEngine(t, TASKLETS);

  const done = await request('wfe.submit', {
    action: 'thing.do',
    params: { n: 21 },
    wait: true,
  });
  t.match(done, { status: 'done', result: { doubled: 42 } });

  const failed = await request('wfe.submit', {
    action: 'thing.fail',
    wait: true,
  });
  t.match(failed, {
    status: 'error',
    error: { code: 'THING_GONE', message: 'no such thing' },
  });
  t.notOk('result' in failed, 'a failed job carries no result');
});

t.test(
  'nats submit - bad submissions are refused and create nothing',
  async (t) => {
    const { engine, request, requestRaw } = await natsTestEngine(t, TASKLETS, {
      submitMaxBytes: 1024,
    });

    const refusals: Array<[string, Promise<any>, string]> = [
      [
        'malformed JSON',
        requestRaw('wfe.submit', new TextEncoder().encode('{"action": ')),
        'BAD_JSON',
      ],
      [
        'unknown action',
        request('wfe.submit', { action: 'thing.dance' }),
        'ACTION_NOT_FOUND',
      ],
      ['not an object', request('wfe.submit', [1, 2]), 'BAD_INPUT'],
      ['no action', request('wfe.submit', { params: {} }), 'BAD_INPUT'],
      [
        'params not an object',
        request('wfe.submit', { action: 'thing.do', params: 'x' }),
        'BAD_PARAMS',
      ],
      [
        'target not a string',
        request('wfe.submit', { action: 'thing.do', target: 7 }),
        'BAD_INPUT',
      ],
      [
        'wait not a boolean',
        request('wfe.submit', { action: 'thing.do', wait: 'yes' }),
        'BAD_INPUT',
      ],
      [
        'empty idempotency key',
        request('wfe.submit', { action: 'thing.do', idempotencyKey: '' }),
        'BAD_INPUT',
      ],
      [
        'over the size limit',
        request('wfe.submit', {
          action: 'thing.do',
          params: { blob: 'x'.repeat(2000) },
        }),
        'PAYLOAD_TOO_LARGE',
      ],
    ];

    for (const [what, pending, code] of refusals) {
      const reply = await pending;
      t.same(Object.keys(reply), ['error'], `${what}: only an error`);
      t.equal(reply.error.code, code, `${what}: ${code}`);
      t.type(reply.error.message, 'string', `${what}: a message`);
      t.notMatch(reply.error.message, /\n\s+at /, `${what}: no stack trace`);
    }
    t.same(await engine.store.listJobs(), [], 'no job was created');
  },
);

t.test('nats submit - one idempotency key, one job', async (t) => {
  const { engine, request } = await natsTestEngine(t, TASKLETS);
  const submission = {
    action: 'thing.do',
    params: { n: 1 },
    idempotencyKey: 'order-17',
  };

  const first = await request('wfe.submit', submission);
  const again = await request('wfe.submit', { ...submission, wait: true });
  t.equal(again.jobId, first.jobId, 'a repeat gets the first job');
  t.equal(again.status, 'done');

  const racing = await Promise.all(
    Array.from({ length: 20 }, () =>
      request('wfe.submit', { ...submission, idempotencyKey: 'order-18' }),
    ),
  );
  t.equal(new Set(racing.map((r) => r.jobId)).size, 1, 'racing repeats agree');

  const conflict = await request('wfe.submit', {
    action: 'thing.fail',
    idempotencyKey: 'order-17',
  });
  t.match(conflict.error, {
    code: 'IDEMPOTENCY_CONFLICT',
    message: /order-17.*thing\.do/,
  });

  const jobs = await engine.store.listJobs();
  t.equal(jobs.length, 2, 'two keys made two jobs');
});

t.test('nats submit - cancel over NATS', async (t) => {
  const { engine, request } = await natsTestEngine(t, TASKLETS);
  const { jobId } = await request('wfe.submit', { action: 'thing.hold' });

  t.match(await request('wfe.jobs.cancel', { id: jobId, reason: 'enough' }), {
    jobId,
    status: 'cancelling',
  });
  t.equal((await engine.wait(jobId)).status, 'cancelled');

  t.match(await request('wfe.jobs.cancel', { id: jobId }), {
    error: { code: 'JOB_FINISHED' },
  });
  t.match(await request('wfe.jobs.cancel', { id: 'nope' }), {
    error: { code: 'NOT_FOUND' },
  });
  t.match(await request('wfe.jobs.cancel', {}), {
    error: { code: 'BAD_INPUT' },
  });
});
