import { MongoClient } from 'mongodb';
import t, { type Test } from 'tap';

import { startMongoForTests } from '../../../scripts/services/mongo.js';
import { freshDatabaseName, mongoServer } from '../../helpers/mongo.js';

/** Sets WFE_MONGODB_URL (or unsets it) for the rest of test `t`. */
function setExternalUrl(t: Test, url: string | undefined): void {
  const before = process.env.WFE_MONGODB_URL;
  if (url === undefined) delete process.env.WFE_MONGODB_URL;
  else process.env.WFE_MONGODB_URL = url;
  t.teardown(() => {
    if (before === undefined) delete process.env.WFE_MONGODB_URL;
    else process.env.WFE_MONGODB_URL = before;
  });
}

t.test('mongo - without WFE_MONGODB_URL, a FerretDB', async (t) => {
  setExternalUrl(t, undefined);
  const server = await mongoServer(t);
  t.type(server.restart, 'function', 'it can be restarted');

  const client = await MongoClient.connect(server.url, {
    serverSelectionTimeoutMS: 5000,
  });
  t.teardown(() => client.close());
  const reply = await client.db(freshDatabaseName()).command({ ping: 1 });
  t.equal(reply.ok, 1);
});

t.test('mongo - WFE_MONGODB_URL names the server to use', async (t) => {
  setExternalUrl(t, 'mongodb://db.example:27017/');
  const server = await startMongoForTests();
  t.equal(server.url, 'mongodb://db.example:27017/');
  t.equal(server.restart, undefined, 'an external one cannot restart');
  await server.stop();

  setExternalUrl(t, 'localhost:27017');
  await t.rejects(startMongoForTests(), {
    message: /WFE_MONGODB_URL must be a mongodb:\/\/ .*"localhost:27017"/,
  });
});

t.test('mongo - fresh database names differ', async (t) => {
  const names = [freshDatabaseName(), freshDatabaseName('wfe_store')];
  t.match(names[0], new RegExp(`^wfe_test_${process.pid}_\\d+_[0-9a-f]{8}$`));
  t.match(names[1], /^wfe_store_/);
  t.not(names[0], names[1]);
  t.throws(() => freshDatabaseName('no.dots'), {
    message: /prefix must be .* got "no\.dots"/,
  });
});
