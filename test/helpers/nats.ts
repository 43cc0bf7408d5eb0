import type { Test } from 'tap';

import {
  startNatsServer,
  type NatsServer,
  type NatsServerOptions,
} from '../../scripts/services/nats-server.js';

export type { NatsServer };

/** A real nats-server that stops when the test ends. */
export async function natsServer(
  t: Test,
  options?: NatsServerOptions,
): Promise<NatsServer> {
  const server = await startNatsServer(options);
  t.teardown(() => server.stop());
  return server;
}
