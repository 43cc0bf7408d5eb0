import { connect } from 'nats';
import t from 'tap';

import { natsTestEngine, until } from '../../helpers/nats-engine.js';

const TASKLETS = {
  'rootobject/thing/do/main.mjs': `
    export const main = (ctx) => ctx.params.n;
  `,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

t.test(
  'nats faults - the server restarts while submissions flow',
  async (t) => {
    const { engine, server } = await natsTestEngine(t, TASKLETS);
    const client = await connect({
      servers: server.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    t.teardown(() => client.close());

    const total = 400;
    const acknowledged = new Map<number, string>();
    let retries = 0;

    // A careful client: the same key until an answer arrives, so that a
    // request lost in the restart is sent again without doubling work.
    const submit = async (n: number): Promise<void> => {
      const body = encoder.encode(
        JSON.stringify({
          action: 'thing.do',
          params: { n },
          idempotencyKey: `k${n}`,
        }),
      );
      for (;;) {
        try {
          const reply = await client.request('wfe.submit', body, {
            timeout: 2000,
          });
          const answer = JSON.parse(decoder.decode(reply.data));
          if (answer.jobId) {
            acknowledged.set(n, answer.jobId);
            return;
          }
        } catch {
          // Disconnected, no responders or timed out: try again.
        }
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    let next = 0;
    const lanes = Array.from({ length: 20 }, async () => {
      while (next < total) await submit(next++);
    });
    await until(() => acknowledged.size >= 100, 20_000, '100 acknowledged');
    await server.restart();
    await Promise.all(lanes);

    t.equal(acknowledged.size, total, 'every submission was acknowledged');
    t.comment(`retries during the restart: ${retries}`);

    for (const jobId of acknowledged.values()) {
      const job = await engine.wait(jobId);
      if (job.status !== 'done') t.fail(`job ${jobId} is ${job.status}`);
    }
    const jobs = await engine.store.listJobs({ limit: 500 });
    t.equal(jobs.length, total, 'no submission was lost or doubled');
    t.equal(
      new Set(jobs.map((job) => job.idempotencyKey)).size,
      total,
      'one job per key',
    );

    // The durable intake picks up again after the restart too.
    await client
      .jetstream()
      .publish(
        'wfe.intake.after',
        encoder.encode(
          JSON.stringify({ action: 'thing.do', params: { n: -1 } }),
        ),
      );
    await until(
      async () =>
        (await engine.store.listJobs({ limit: 600 })).some(
          (job) => job.params.n === -1 && job.status === 'done',
        ),
      20_000,
      'the intake job after the restart',
    );
    t.pass('the intake consumes again after the restart');
  },
);
