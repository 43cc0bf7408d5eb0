import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { openMongoStore, type MongoStoreOptions } from '../drp/mongo-store.js';
import { openSqliteStore } from '../drp/sqlite-store.js';
import type { Store } from '../drp/types.js';
import { WfeError } from '../errors.js';
import { UsageError } from './args.js';
import { resolveDataDir, type CliIo } from './io.js';

/** The help line of --mongodb, aligned at `column`. */
export function mongoFlagHelp(column: number): string {
  const pad = ' '.repeat(column + 2);
  return [
    `${'--mongodb URL'.padEnd(column)}keep the store in MongoDB instead of --data`,
    `${pad}(env WFE_MONGODB_URL), e.g. mongodb://HOST:27017/wfe`,
  ].join('\n');
}

/**
 * The MongoDB store a command was asked for: --mongodb, else
 * WFE_MONGODB_URL unless --data names a folder; null means SQLite.
 */
export function mongoOptions(
  command: string,
  io: CliIo,
  flags: { mongodb?: string; data?: string },
): MongoStoreOptions | null {
  if (flags.mongodb !== undefined && flags.data !== undefined) {
    throw new UsageError(
      command,
      'give --mongodb to use MongoDB or --data for the embedded store, ' +
        'not both',
    );
  }
  if (flags.mongodb !== undefined) {
    if (flags.mongodb === '') {
      throw new UsageError(command, '--mongodb needs a URL');
    }
    return { url: flags.mongodb };
  }
  if (flags.data !== undefined || !io.env.WFE_MONGODB_URL) return null;
  return { url: io.env.WFE_MONGODB_URL };
}

/**
 * Opens a store for reading: MongoDB when asked, else the SQLite store
 * of a data folder. Opening SQLite would create an empty database,
 * which would hide a mistyped --data, so a missing file is an error.
 */
export async function openReadStore(
  command: string,
  io: CliIo,
  flags: { mongodb?: string; data?: string },
): Promise<Store> {
  const mongodb = mongoOptions(command, io, flags);
  if (mongodb) return openMongoStore(mongodb);

  const dataDir = resolveDataDir(io, flags.data);
  const path = join(dataDir, 'wfe.db');
  if (!existsSync(path)) {
    throw new WfeError('NO_DATA', `no wfe data in ${dataDir}`, {
      details: { path },
    });
  }
  return openSqliteStore({ path });
}
