import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect } from 'nats';
import t from 'tap';

import { createEngine, type Engine } from '../../../runtime/engine.js';
import { silentLogger } from '../../../runtime/log.js';
import { writeTree } from '../../helpers/engine.js';
import { natsServer } from '../../helpers/nats.js';
import { until } from '../../helpers/nats-engine.js';

const TASKLETS = {
  'rootobject/thing/do/main.mjs': `
    export const main = (ctx) => ctx.params.n;
  `,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

t.test(
  'nats intake - work sent while the engine is down is done, once',
  async (t) => {
    const server = await natsServer(t);
    const dir = mkdtempSync(join(tmpdir(), 'wfe-intake-'));
    writeTree(join(dir, 'tasklets'), TASKLETS);
    const start = () =>
      createEngine({
        taskletRoots: [join(dir, 'tasklets')],
        dataDir: join(dir, 'data'),
        nats: { url: server.url },
        logger: silentLogger(),
      });

    // The first start creates the stream; then the engine goes away.
    let engine: Engine = await start();
    await engine.stop();

    const client = await connect({ servers: server.url });
    t.teardown(() => client.close());
    const js = client.jetstream();
    for (let n = 0; n < 200; n++) {
      await js.publish(
        'wfe.intake.thing',
        encoder.encode(JSON.stringify({ action: 'thing.do', params: { n } })),
      );
    }
    // The same key twice is one job.
    for (let i = 0; i < 2; i++) {
      await js.publish(
        'wfe.intake.thing',
        encoder.encode(
          JSON.stringify({
            action: 'thing.do',
            params: { n: 1000 },
            idempotencyKey: 'once',
          }),
        ),
      );
    }

    engine = await start();
    t.teardown(() => engine.stop());
    await until(
      async () =>
        (await engine.store.listJobs({ status: 'done', limit: 500 })).length ===
        201,
      20_000,
      '201 jobs done',
    );

    const jobs = await engine.store.listJobs({ limit: 500 });
    t.equal(jobs.length, 201, 'one job per message, one for the repeated key');
    t.same(
      jobs.map((j) => j.params.n as number).sort((a, b) => a - b),
      [...Array.from({ length: 200 }, (_, n) => n), 1000],
      'every message became its job',
    );
    t.ok(
      jobs.every((j) => typeof j.idempotencyKey === 'string'),
      'each intake job carries a key that names its message',
    );

    const info = await (
      await client.jetstreamManager()
    ).streams.info('WFE_INTAKE');
    t.equal(info.state.messages, 0, 'every message was acknowledged');
  },
);

t.test('nats intake - a bad message is refused, the rest go on', async (t) => {
  const server = await natsServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'wfe-intake-'));
  writeTree(join(dir, 'tasklets'), TASKLETS);
  const engine = await createEngine({
    taskletRoots: [join(dir, 'tasklets')],
    dataDir: join(dir, 'data'),
    nats: { url: server.url },
    logger: silentLogger(),
  });
  t.teardown(() => engine.stop());

  const client = await connect({ servers: server.url });
  t.teardown(() => client.close());
  const refused: any[] = [];
  client.subscribe('wfe.rejected.intake', {
    callback: (_err, msg) => refused.push(JSON.parse(decoder.decode(msg.data))),
  });
  await client.flush();

  const js = client.jetstream();
  await js.publish('wfe.intake.x', encoder.encode('{not json'));
  await js.publish(
    'wfe.intake.x',
    encoder.encode(JSON.stringify({ action: 'thing.unknown' })),
  );
  await js.publish(
    'wfe.intake.x',
    encoder.encode(JSON.stringify({ action: 'thing.do', params: { n: 7 } })),
  );

  await until(() => refused.length === 2, 10_000, 'two refusals');
  await until(
    async () => (await engine.store.listJobs({ status: 'done' })).length === 1,
    10_000,
    'the good message done',
  );
  t.same(
    refused.map((r) => r.error.code),
    ['BAD_JSON', 'ACTION_NOT_FOUND'],
    'each refusal says why',
  );
  t.match(refused[0], { seq: Number, subject: 'wfe.intake.x' });
  t.equal((await engine.store.listJobs()).length, 1, 'refusals made no job');
});
