import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import t from 'tap';

import { createEngine } from '../../../runtime/engine.js';
import { silentLogger } from '../../../runtime/log.js';
import { natsServer } from '../../helpers/nats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

t.test('nats client example - submits and follows a job', async (t) => {
  const server = await natsServer(t);
  const dataDir = t.testdir();
  const engine = await createEngine({
    taskletRoots: [join(root, 'examples', 'tasklets')],
    dataDir,
    nats: { url: server.url },
    logger: silentLogger(),
  });
  t.teardown(() => engine.stop());

  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, 'examples', 'nats-client.mjs')],
    { env: { ...process.env, WFE_NATS_URL: server.url }, timeout: 30_000 },
  );

  t.match(stdout, /^done \{"guid":"[^"]+"/m, 'the job ended done');
  const [job] = await engine.store.listJobs({ action: 'machine.create' });
  t.equal(job?.status, 'done', 'the engine ran it');
});
