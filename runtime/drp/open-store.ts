import { join } from 'node:path';

import type { Bus } from '../bus/types.js';
import type { Logger } from '../log.js';
import { busStore } from './bus-store.js';
import { acquireDataLock, type DataLock } from './data-lock.js';
import { openMongoStore, type MongoStoreOptions } from './mongo-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

export interface RoleStoreOptions {
  runsWriter: boolean;
  runsWorker: boolean;
  bus: Bus;
  owner: string;
  dataDir: string;
  logger: Logger;
  mongodb?: MongoStoreOptions;
  store?: Store;
}

export interface RoleStore {
  store: Store;
  /** The data-folder lock of the embedded store, when this process has it. */
  lock: DataLock | null;
  /** The engine whose lock or lease this one took over, if any. */
  previousOwner: string | null;
  /** Closes what was opened here, lock last. */
  close(): Promise<void>;
}

/**
 * The DRP as this process's role sees it: the writer owns the store (the
 * embedded SQLite under a data lock, or MongoDB under a writer lease);
 * workers with MongoDB read it directly; the rest read through the bus.
 */
export async function openRoleStore(
  options: RoleStoreOptions,
): Promise<RoleStore> {
  const { logger, mongodb } = options;
  const none = async () => {};

  if (!options.runsWriter) {
    if (!mongodb || !options.runsWorker) {
      return {
        store: busStore(options.bus),
        lock: null,
        previousOwner: null,
        close: none,
      };
    }
    // Workers read a shared MongoDB DRP directly; writes still go
    // through the writer's process.
    const store = await openMongoStore({ logger, ...mongodb, readOnly: true });
    return {
      store,
      lock: null,
      previousOwner: null,
      close: () => store.close(),
    };
  }

  if (options.store) {
    return {
      store: options.store,
      lock: null,
      previousOwner: null,
      close: none,
    };
  }

  if (mongodb) {
    const store = await openMongoStore({
      logger,
      ...mongodb,
      writer: { ...mongodb.writer, owner: options.owner },
    });
    const previousOwner = store.previousOwner ?? null;
    if (previousOwner !== null) {
      logger.warn(
        { at: store.location, previousOwner },
        'took over the DRP writer lease of an engine that is gone',
      );
    }
    logger.info({ store: store.kind, at: store.location }, 'DRP store open');
    return { store, lock: null, previousOwner, close: () => store.close() };
  }

  const lock = acquireDataLock(options.dataDir, options.owner);
  if (lock.tookOverFrom !== undefined) {
    logger.warn(
      { dataDir: options.dataDir, pid: lock.tookOverFrom },
      'took over the data folder of an engine that is gone',
    );
  }
  try {
    const store = openSqliteStore({ path: join(options.dataDir, 'wfe.db') });
    logger.info({ store: store.kind, at: store.location }, 'DRP store open');
    return {
      store,
      lock,
      previousOwner: lock.previousOwner ?? null,
      close: async () => {
        await store.close();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
