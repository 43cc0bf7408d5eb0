import { connect, type NatsConnection } from 'nats';
import type { Test } from 'tap';

import type { EngineOptions } from '../../runtime/engine.js';
import { testEngine, type TestEngine } from './engine.js';
import { natsServer, type NatsServer } from './nats.js';

export interface NatsTestEngine extends TestEngine {
  server: NatsServer;
  /** A plain client, as another system would use. */
  client: NatsConnection;
  /** A JSON request over NATS; the parsed answer. */
  request(subject: string, body: unknown, timeoutMs?: number): Promise<any>;
  /** Raw bytes as the request, for malformed input. */
  requestRaw(subject: string, data: Uint8Array): Promise<any>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A real nats-server, an engine connected to it, and a plain client. */
export async function natsTestEngine(
  t: Test,
  files: Record<string, string>,
  options: Partial<EngineOptions> = {},
): Promise<NatsTestEngine> {
  const server = await natsServer(t);
  const base = await testEngine(t, files, {
    nats: { url: server.url },
    ...options,
  });
  const client = await connect({ servers: server.url });
  t.teardown(() => client.close());

  const requestRaw = async (
    subject: string,
    data: Uint8Array,
    timeoutMs = 10_000,
  ) => {
    const reply = await client.request(subject, data, { timeout: timeoutMs });
    return JSON.parse(decoder.decode(reply.data));
  };
  return {
    ...base,
    server,
    client,
    requestRaw,
    request: (subject, body, timeoutMs) =>
      requestRaw(subject, encoder.encode(JSON.stringify(body)), timeoutMs),
  };
}

/** Polls until `check` is true, or fails after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
