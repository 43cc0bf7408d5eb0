import type { Test } from 'tap';

import {
  startProsody,
  type ProsodyOptions,
  type ProsodyServer,
} from '../../scripts/services/prosody.js';

export type { ProsodyServer };

/** A real prosody that stops when the test ends. */
export async function prosodyServer(
  t: Test,
  options?: ProsodyOptions,
): Promise<ProsodyServer> {
  const server = await startProsody(options);
  t.teardown(() => server.stop());
  return server;
}
