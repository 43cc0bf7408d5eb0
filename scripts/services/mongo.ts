import { startFerretDb, type FerretDbOptions } from './ferretdb.js';

/**
 * The MongoDB server tests use: the one WFE_MONGODB_URL names when it is
 * set, else a FerretDB of their own.
 */
export interface TestMongo {
  /** A `mongodb://` or `mongodb+srv://` URL. */
  url: string;
  /** Stops a server started here; does nothing to an external one. */
  stop(): Promise<void>;
  /**
   * Stops and starts again, keeping the data. Absent for an external
   * server (WFE_MONGODB_URL), which cannot be restarted from here: tests
   * that need a restart must fail saying so.
   */
  restart?: () => Promise<void>;
}

const EXTERNAL_URL = 'WFE_MONGODB_URL';

/** `options` apply to the FerretDB started when no external server is set. */
export async function startMongoForTests(
  options?: FerretDbOptions,
): Promise<TestMongo> {
  const external = process.env[EXTERNAL_URL];
  if (external === undefined || external === '') {
    return startFerretDb(options);
  }

  if (!/^mongodb(\+srv)?:\/\/./.test(external)) {
    throw new Error(
      `${EXTERNAL_URL} must be a mongodb:// or mongodb+srv:// URL, ` +
        `got ${JSON.stringify(external)}`,
    );
  }
  return { url: external, stop: async () => {} };
}
