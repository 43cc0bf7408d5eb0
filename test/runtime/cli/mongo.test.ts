import path from 'node:path';

import { MongoClient } from 'mongodb';
import t from 'tap';

import type { LeaseDoc } from '../../../runtime/drp/mongo-lease.js';

import { openMongoStore } from '../../../runtime/drp/mongo-store.js';
import { createEngine } from '../../../runtime/engine.js';
import { silentLogger } from '../../../runtime/log.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';
import { wfe, workspace } from './cli-io.js';

const server = await mongoServer(t);

function databaseUrl(): string {
  return `${server.url.replace(/\/?$/, '/')}${freshDatabaseName('cli')}`;
}

t.test('run, jobs and jobs show keep and read jobs in MongoDB', async (t) => {
  const dir = await workspace(t);
  const url = databaseUrl();
  const env = { WFE_LOG_LEVEL: 'silent', WFE_DATA_DIR: path.join(dir, 'data') };

  const run = await wfe(
    ['run', 'machine.create', '--params', '{"name":"web1"}', '--mongodb', url],
    { env },
  );
  t.equal(run.code, 0, run.stderr);

  const jobs = await wfe(['jobs', '--mongodb', url], { env });
  t.equal(jobs.code, 0, jobs.stderr);
  const id = /^(\S+)\s+done\s+machine\.create/m.exec(jobs.stdout)?.[1];
  t.ok(id, `a done machine.create in:\n${jobs.stdout}`);

  // The environment names the store as well as the flag does.
  const show = await wfe(['jobs', 'show', id ?? '?', '--json'], {
    env: { ...env, WFE_MONGODB_URL: url },
  });
  t.equal(show.code, 0, show.stderr);
  t.match(JSON.parse(show.stdout), { job: { id, status: 'done' } });

  t.equal(
    (await wfe(['jobs'], { env })).code,
    1,
    'without --mongodb, the empty data folder is read',
  );
});

t.test('start says which store it uses', async (t) => {
  const dir = await workspace(t);
  const url = databaseUrl();
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(['start', '--tasklets', dir, '--mongodb', url], {
    env: { WFE_LOG_LEVEL: 'silent', WFE_DATA_DIR: path.join(dir, 'data') },
    stopSignal: stop.signal,
  });

  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, `  store     mongodb at ${url}\n`);
  t.match(result.stdout, `wfe jobs --mongodb ${url}\n`);
  t.notMatch(result.stdout, 'DATA_DIR_LOCKED');
});

t.test('start fails fast and clearly without a server', async (t) => {
  const dir = await workspace(t);
  const started = Date.now();

  const result = await wfe(
    ['start', '--tasklets', dir, '--mongodb', 'mongodb://127.0.0.1:1/wfe'],
    { env: { WFE_LOG_LEVEL: 'silent', WFE_DATA_DIR: path.join(dir, 'd') } },
  );

  t.not(result.code, 0);
  t.match(
    result.stderr,
    /STORE_UNREACHABLE: cannot reach MongoDB at mongodb:\/\/127\.0\.0\.1:1\/wfe within 5000 ms/,
  );
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.ok(Date.now() - started < 15_000, 'does not hang');
});

t.test('bad store flags are refused with what to do', async (t) => {
  const dir = await workspace(t);
  const env = { WFE_LOG_LEVEL: 'silent' };
  const cases: Array<[string[], RegExp]> = [
    [['jobs', '--mongodb', 'mongodb://x/y', '--data', dir], /not both/],
    [['jobs', '--mongodb', 'http://x/y'], /BAD_CONFIG: not a MongoDB URL/],
    [['run', 'a.b', '--mongodb', ''], /--mongodb needs a URL/],
    [
      [
        'start',
        '--role',
        'controller',
        '--nats',
        'nats://x',
        '--mongodb',
        'mongodb://x',
      ],
      /--mongodb is for the roles that use the store/,
    ],
  ];
  for (const [argv, message] of cases) {
    const result = await wfe(argv, { env });
    t.not(result.code, 0, argv.join(' '));
    t.match(result.stderr, message, argv.join(' '));
  }
});

t.test('a second engine on one MongoDB DRP is refused', async (t) => {
  const dir = await workspace(t);
  const url = databaseUrl();
  const engine = await createEngine({
    taskletRoots: [],
    dataDir: path.join(dir, 'a'),
    mongodb: { url },
    logger: silentLogger(),
  });
  t.teardown(() => engine.stop());

  const second = await wfe(['run', 'machine.create', '--mongodb', url], {
    env: { WFE_LOG_LEVEL: 'silent', WFE_DATA_DIR: path.join(dir, 'b') },
  });

  t.not(second.code, 0);
  t.match(second.stderr, /DRP_LOCKED: the DRP at .* has a writer already/);
});

t.test('the jobs of a dead writer are marked interrupted', async (t) => {
  const dir = await workspace(t);
  const url = databaseUrl();
  const store = await openMongoStore({ url });
  t.teardown(() => store.close());
  const stranded = {
    id: 'j-stranded',
    parentId: null,
    rootId: 'j-stranded',
    action: 'machine.create',
    target: null,
    params: {},
    status: 'running' as const,
    result: undefined,
    error: null,
    maxDurationMs: null,
    idempotencyKey: null,
    owner: 'gone',
    createdAt: 1,
    startedAt: 1,
    endedAt: null,
  };
  t.match(await store.commit([{ kind: 'job.put', job: stranded }]), [
    { ok: true },
  ]);
  // Its writer crashed: the lease was neither renewed nor released.
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  t.teardown(() => client.close());
  await client
    .db()
    .collection<LeaseDoc>('meta')
    .insertOne({
      _id: 'writer',
      owner: 'gone',
      pid: 999_999,
      host: 'elsewhere',
      since: 0,
      expiresAt: Date.now() - 1,
    });

  const engine = await createEngine({
    taskletRoots: [],
    dataDir: path.join(dir, 'data'),
    mongodb: { url },
    logger: silentLogger(),
  });
  t.teardown(() => engine.stop());

  const job = await engine.store.getJob('j-stranded');
  t.match(job, { status: 'error', error: { code: 'INTERRUPTED' } });
});
