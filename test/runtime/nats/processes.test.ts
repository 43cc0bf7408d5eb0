import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect, type NatsConnection } from 'nats';
import t from 'tap';

import { writeTree } from '../../helpers/engine.js';
import { startEngineProcess } from '../../helpers/engine-process.js';
import { natsServer } from '../../helpers/nats.js';
import { until } from '../../helpers/nats-engine.js';

// Each run appends "<job id> <pid>" to the file named by WFE_TEST_RUNS,
// so that the test can count how often, and where, every job ran.
const TASKLETS = {
  'rootobject/thing/do/main.mjs': `
    import { appendFileSync } from 'node:fs';
    export async function main(ctx) {
      await new Promise((resolve) => setTimeout(resolve, ctx.params.ms ?? 0));
      appendFileSync(process.env.WFE_TEST_RUNS, ctx.job.id + ' ' + process.pid + '\\n');
      return ctx.params.n;
    }
  `,
  'actor/shell/where/main.mjs': `
    export const main = (ctx) => ctx.agents.run('local', 'where.sh');
  `,
  'actor/shell/where/where.sh': 'echo "ran under $PPID"\n',
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function workspace(): { dir: string; tasklets: string; runs: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-procs-'));
  const tasklets = join(dir, 'tasklets');
  writeTree(tasklets, TASKLETS);
  return { dir, tasklets, runs: join(dir, 'runs.txt') };
}

async function request(nc: NatsConnection, subject: string, body: unknown) {
  const reply = await nc.request(
    subject,
    encoder.encode(JSON.stringify(body)),
    {
      timeout: 10_000,
    },
  );
  return JSON.parse(decoder.decode(reply.data));
}

/** Every job, through the engine's own query subject. */
async function allJobs(nc: NatsConnection): Promise<any[]> {
  const jobs: any[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await request(nc, 'wfe.jobs.list', { limit: 500, before });
    jobs.push(...page.jobs);
    if (!page.next) return jobs;
    before = page.next;
  }
}

function runsByJob(file: string): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return runs;
  }
  for (const line of text.split('\n').filter(Boolean)) {
    const [jobId, pid] = line.split(' ') as [string, string];
    runs.set(jobId, [...(runs.get(jobId) ?? []), pid]);
  }
  return runs;
}

t.test(
  'nats processes - SIGKILL with intake queued and jobs running',
  async (t) => {
    const server = await natsServer(t);
    const { dir, tasklets, runs } = workspace();
    const args = [
      '--nats',
      server.url,
      '--data',
      join(dir, 'data'),
      '--tasklets',
      tasklets,
    ];
    const env = { WFE_TEST_RUNS: runs };

    let engine = await startEngineProcess(t, args, env);
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());

    const total = 300;
    const js = nc.jetstream();
    await Promise.all(
      Array.from({ length: total }, (_, n) =>
        js.publish(
          'wfe.intake.slow',
          encoder.encode(
            JSON.stringify({ action: 'thing.do', params: { n, ms: 300 } }),
          ),
        ),
      ),
    );
    await until(() => runsByJob(runs).size >= 20, 20_000, 'some jobs done');
    await engine.kill();

    engine = await startEngineProcess(t, args, env);
    t.teardown(() => engine.stop());
    const jsm = await nc.jetstreamManager();
    await until(
      async () => {
        const stream = await jsm.streams.info('WFE_INTAKE');
        if (stream.state.messages > 0) return false;
        const jobs = await allJobs(nc);
        return jobs.every(
          (job) => job.status !== 'running' && job.status !== 'waiting',
        );
      },
      60_000,
      'the stream drained and no job waiting or running',
    );

    const jobs = await allJobs(nc);
    t.equal(jobs.length, total, 'every message became exactly one job');
    t.same(
      [...new Set(jobs.map((job) => job.params.n))].length,
      total,
      'one job for each message',
    );
    const interrupted = jobs.filter((job) => job.status === 'error');
    t.ok(
      interrupted.every((job) => job.error.code === 'INTERRUPTED'),
      'jobs cut off by the kill say INTERRUPTED',
    );
    t.ok(interrupted.length > 0, 'the kill cut some jobs off');
    t.equal(
      jobs.filter((job) => job.status === 'done').length + interrupted.length,
      total,
      'the rest are done',
    );

    const ranTwice = [...runsByJob(runs).values()].filter(
      (pids) => pids.length > 1,
    );
    t.same(ranTwice, [], 'no job ran twice');
  },
);

t.test('nats processes - writer, controller and two workers', async (t) => {
  const server = await natsServer(t);
  const { dir, tasklets, runs } = workspace();
  const env = { WFE_TEST_RUNS: runs };
  const start = (role: string) =>
    startEngineProcess(
      t,
      [
        '--nats',
        server.url,
        '--role',
        role,
        '--data',
        join(dir, role),
        '--tasklets',
        tasklets,
      ],
      env,
    );

  const writer = await start('writer');
  const controller = await start('controller');
  const workers = [
    await start('worker'),
    await startEngineProcess(
      t,
      [
        '--nats',
        server.url,
        '--role',
        'worker',
        '--data',
        join(dir, 'worker2'),
        '--tasklets',
        tasklets,
      ],
      env,
    ),
  ];
  t.teardown(async () => {
    for (const worker of workers) await worker.stop();
    await controller.stop();
    await writer.stop();
  });

  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const total = 200;
  const js = nc.jetstream();
  await Promise.all(
    Array.from({ length: total / 2 }, (_, n) =>
      js.publish(
        'wfe.intake.batch',
        encoder.encode(
          JSON.stringify({ action: 'thing.do', params: { n, ms: 5 } }),
        ),
      ),
    ),
  );
  const answers = await Promise.all(
    Array.from({ length: total / 2 }, (_, i) =>
      request(nc, 'wfe.submit', {
        action: 'thing.do',
        params: { n: total / 2 + i, ms: 5 },
        wait: true,
      }),
    ),
  );
  t.ok(
    answers.every((answer) => answer.status === 'done'),
    'every request answered when its job was done',
  );

  await until(
    async () =>
      (await allJobs(nc)).filter((j) => j.status === 'done').length === total,
    30_000,
    'all jobs done',
  );
  const jobs = await allJobs(nc);
  t.equal(jobs.length, total, 'one job per submission');

  const where = await request(nc, 'wfe.submit', {
    action: 'shell.where',
    wait: true,
  });
  t.equal(
    where.result?.stdout,
    `ran under ${controller.child.pid}\n`,
    'the rscript ran in the controller process',
  );

  const ran = runsByJob(runs);
  t.equal(ran.size, total, 'every job ran');
  t.ok(
    [...ran.values()].every((pids) => pids.length === 1),
    'each exactly once',
  );
  const pids = new Set([...ran.values()].map(([pid]) => pid));
  t.equal(pids.size, 2, 'both workers took a share');
  t.equal(
    new Set(jobs.map((job) => job.owner)).size,
    2,
    'the jobs name the two workers as owners',
  );
});
