import { randomBytes } from 'node:crypto';

import type { Test } from 'tap';

import type { FerretDbOptions } from '../../scripts/services/ferretdb.js';
import {
  startMongoForTests,
  type TestMongo,
} from '../../scripts/services/mongo.js';

export type { TestMongo };

/**
 * A real MongoDB server that stops when the test ends: the one
 * WFE_MONGODB_URL names, else a FerretDB of the test's own. The external
 * one has no `restart`.
 */
export async function mongoServer(
  t: Test,
  options?: FerretDbOptions,
): Promise<TestMongo> {
  const server = await startMongoForTests(options);
  t.teardown(() => server.stop());
  return server;
}

let databasesNamed = 0;

/**
 * A database name no other test uses, since tests may share one server:
 * `PREFIX_PID_COUNTER_RANDOM`.
 */
export function freshDatabaseName(prefix = 'wfe_test'): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new Error(
      `freshDatabaseName: prefix must be 1-32 letters, digits, _ or -, ` +
        `got ${JSON.stringify(prefix)}`,
    );
  }
  databasesNamed += 1;
  const random = randomBytes(4).toString('hex');
  return `${prefix}_${process.pid}_${databasesNamed}_${random}`;
}
