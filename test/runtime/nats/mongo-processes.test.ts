import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MongoClient } from 'mongodb';
import { connect } from 'nats';
import t from 'tap';

import { startEngineProcess } from '../../helpers/engine-process.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';
import { natsServer } from '../../helpers/nats.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

t.test('a writer, a worker and a controller share a MongoDB DRP', async (t) => {
  const nats = await natsServer(t);
  const mongo = await mongoServer(t);
  const database = freshDatabaseName('roles');
  const url = `${mongo.url.replace(/\/?$/, '/')}${database}`;
  const dir = mkdtempSync(join(tmpdir(), 'wfe-mongo-roles-'));
  const env = { WFE_VM_ROOT: join(dir, 'vms'), WFE_MONGODB_URL: url };
  const start = (role: string) =>
    startEngineProcess(
      t,
      ['--nats', nats.url, '--role', role, '--data', join(dir, role)],
      env,
    );

  // The worker reads the DRP directly; its writes go through the writer.
  const writer = await start('writer');
  const controller = await start('controller');
  const worker = await start('worker');
  // Stopped at the end of the test, before the servers they depend on
  // (teardowns run first to last).
  const stopEngines = async () => {
    for (const engine of [worker, controller, writer]) {
      t.equal(await engine.stop(), 0, 'stops cleanly');
    }
  };

  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const submit = async (body: unknown) => {
    const reply = await nc.request(
      'wfe.submit',
      encoder.encode(JSON.stringify({ ...(body as object), wait: true })),
      { timeout: 20_000 },
    );
    return JSON.parse(decoder.decode(reply.data));
  };

  const created = await submit({
    action: 'machine.create',
    params: { name: 'web1' },
  });
  t.match(created, { status: 'done', result: { name: 'web1' } });
  const started = await submit({
    action: 'machine.start',
    target: created.result.guid,
  });
  t.match(started, { status: 'done' }, JSON.stringify(started.error));

  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  t.teardown(() => client.close());
  const db = client.db();
  const machine = await db
    .collection('objects')
    .findOne({ _id: created.result.guid });
  t.match(machine, { type: 'machine', version: 2, data: { name: 'web1' } });
  const jobs = await db.collection('jobs').find({}).toArray();
  t.ok(
    jobs.some((job) => job.action === 'machine.start' && job.status === 'done'),
    'the jobs are in MongoDB',
  );
  t.ok(
    jobs.some((job) => job.parentId !== null),
    'with the child jobs the action started',
  );
  await stopEngines();
});
