import { connect, type NatsConnection } from 'nats';

import { SUBJECTS } from '../../runtime/nats/subjects.js';
import { inWindow, ratePerSec } from './stats.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const REQUEST_TIMEOUT_MS = 30_000;

/** A bench step that went wrong: main reports it and exits 1. */
export class BenchFailure extends Error {}

export function verify(condition: boolean, message: string): asserts condition {
  if (!condition) throw new BenchFailure(message);
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function decodeJson(data: Uint8Array): unknown {
  return JSON.parse(decoder.decode(data));
}

export interface RequestRun {
  requests: number;
  warmUp: number;
  inFlight: number;
}

/**
 * Plain NATS request/reply: a responder echoing JSON on one connection,
 * the requester on another. What the transport alone gives.
 */
export async function rawRequestsPerSec(
  url: string,
  run: RequestRun,
): Promise<number> {
  const subject = 'bench.echo';
  const responder = await connect({ servers: url });
  const requester = await connect({ servers: url });

  try {
    responder.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        msg.respond(encodeJson(decodeJson(msg.data)));
      },
    });
    await responder.flush();

    const once = async (i: number): Promise<void> => {
      const reply = await requester.request(subject, encodeJson({ i }), {
        timeout: REQUEST_TIMEOUT_MS,
      });
      const echoed = decodeJson(reply.data) as { i?: unknown };
      verify(
        echoed.i === i,
        `echo ${i} came back as ${JSON.stringify(echoed)}`,
      );
    };
    await inWindow(run.warmUp, run.inFlight, once);
    return await ratePerSec(run.requests, () =>
      inWindow(run.requests, run.inFlight, once),
    );
  } finally {
    await requester.close();
    await responder.close();
  }
}

/**
 * `wfe.submit` with `wait: true` from a client connection of its own:
 * each answer means a durable job that ran and ended.
 */
export async function submitsPerSec(
  client: NatsConnection,
  action: string,
  run: RequestRun,
): Promise<number> {
  const once = async (): Promise<void> => {
    const reply = await client.request(
      SUBJECTS.submit,
      encodeJson({ action, wait: true }),
      { timeout: REQUEST_TIMEOUT_MS },
    );
    const answer = decodeJson(reply.data) as {
      status?: unknown;
      result?: unknown;
    };
    verify(
      answer.status === 'done' && answer.result === null,
      `submission answered ${JSON.stringify(answer)}`,
    );
  };

  await inWindow(run.warmUp, run.inFlight, once);
  return ratePerSec(run.requests, () =>
    inWindow(run.requests, run.inFlight, once),
  );
}
