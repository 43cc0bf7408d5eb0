import {
  ErrorCode,
  type Msg,
  type NatsConnection,
  type Subscription,
} from 'nats';

import { toErrorInfo, WfeError, type ErrorInfo } from '../errors.js';
import type { Logger } from '../log.js';
import { natsErrorCode } from './connect.js';
import { isValidSubject } from './subject.js';
import {
  isErrorReply,
  type Bus,
  type BusSubscription,
  type ErrorReply,
  type MessageHandler,
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
} from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The bus between processes: messages travel as JSON over a NATS
 * connection that someone else owns (and closes). Handlers run
 * concurrently, one promise per message.
 */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #subscriptions = new Set<Subscription>();
  readonly #inFlight = new Set<(err: WfeError) => void>();
  #closing: Promise<void> | undefined;

  constructor(options: { connection: NatsConnection; logger: Logger }) {
    this.#nc = options.connection;
    this.#logger = options.logger;
  }

  get connection(): NatsConnection {
    return this.#nc;
  }

  publish(subject: string, message: unknown): void {
    checkSubject(subject);
    const data = encode(message, 'BAD_MESSAGE');
    if (this.#closing || this.#nc.isClosed()) {
      this.#logger.debug({ subject }, 'bus closed; event dropped');
      return;
    }

    try {
      this.#nc.publish(subject, data);
    } catch (err) {
      const code = natsErrorCode(err);
      if (
        code === ErrorCode.ConnectionClosed ||
        code === ErrorCode.ConnectionDraining
      ) {
        this.#logger.debug({ subject }, 'bus closed; event dropped');
        return;
      }
      throw busError(err, subject);
    }
  }

  async request<T = unknown>(
    subject: string,
    message: unknown,
    options: RequestOptions = {},
  ): Promise<T> {
    if (this.#closing) throw closedError();
    checkSubject(subject);
    const data = encode(message, 'BAD_MESSAGE');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

    const reply = await this.#untilClosed(
      this.#nc.request(subject, data, { timeout: timeoutMs }),
    ).catch((err: unknown) => {
      throw busError(err, subject, timeoutMs);
    });

    let value: unknown;
    try {
      value = decode(reply.data);
    } catch (err) {
      throw new WfeError('BAD_REPLY', `the answer on ${subject} is not JSON`, {
        details: { subject, problem: (err as Error).message },
      });
    }
    if (isErrorReply(value)) throw errorFromReply(value);
    return value as T;
  }

  serve(
    subject: string,
    handler: RequestHandler,
    options: ServeOptions = {},
  ): BusSubscription {
    return this.#listen(subject, options.queue, (msg) => {
      this.#answer(msg, handler, options.maxBytes).catch((err: unknown) =>
        this.#logger.error({ err, subject: msg.subject }, 'bus server failed'),
      );
    });
  }

  subscribe(
    subject: string,
    handler: MessageHandler,
    options: { queue?: string } = {},
  ): BusSubscription {
    return this.#listen(subject, options.queue, (msg) =>
      this.#deliver(msg, handler, subject),
    );
  }

  /** Drains this bus's subscriptions; the connection stays open. */
  close(): Promise<void> {
    this.#closing ??= this.#drain();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    for (const reject of this.#inFlight) reject(closedError());
    this.#inFlight.clear();

    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    if (this.#nc.isClosed()) return;
    await Promise.allSettled(subscriptions.map((sub) => sub.drain()));
  }

  #listen(
    subject: string,
    queue: string | undefined,
    onMessage: (msg: Msg) => void,
  ): BusSubscription {
    if (this.#closing) throw closedError();
    checkSubject(subject);

    let sub: Subscription;
    try {
      sub = this.#nc.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (err, msg) => {
          if (err) {
            this.#logger.warn({ err, subject }, 'bus subscription failed');
            return;
          }
          onMessage(msg);
        },
      });
    } catch (err) {
      throw busError(err, subject);
    }
    this.#subscriptions.add(sub);

    return {
      unsubscribe: () => {
        this.#subscriptions.delete(sub);
        if (!this.#nc.isClosed()) sub.unsubscribe();
      },
    };
  }

  async #answer(
    msg: Msg,
    handler: RequestHandler,
    maxBytes: number | undefined,
  ): Promise<void> {
    if (!msg.reply) {
      this.#logger.debug(
        { subject: msg.subject },
        'bus request without a reply subject ignored',
      );
      return;
    }
    if (maxBytes !== undefined && msg.data.length > maxBytes) {
      this.#respond(msg, {
        error: {
          code: 'PAYLOAD_TOO_LARGE',
          message:
            `the request has ${msg.data.length} bytes; ` +
            `${msg.subject} takes at most ${maxBytes}`,
        },
      });
      return;
    }

    let message: unknown;
    try {
      message = decode(msg.data);
    } catch (err) {
      this.#respond(msg, {
        error: {
          code: 'BAD_JSON',
          message: `the request is not JSON: ${(err as Error).message}`,
        },
      });
      return;
    }

    let answer: unknown;
    try {
      answer = await handler(message, msg.subject);
    } catch (err) {
      this.#respond(msg, { error: toErrorInfo(err) });
      return;
    }
    this.#respond(msg, answer);
  }

  #respond(msg: Msg, answer: unknown): void {
    let data: Uint8Array;
    try {
      data = encode(answer, 'BAD_REPLY');
    } catch (err) {
      // Plain strings only, so that this second encoding cannot fail.
      const { code, message } = toErrorInfo(err);
      data = encode({ error: { code, message, retryable: false } }, code);
    }

    try {
      msg.respond(data);
    } catch (err) {
      // The connection went away mid-request; the requester times out.
      this.#logger.debug({ err, subject: msg.subject }, 'bus reply lost');
    }
  }

  #deliver(msg: Msg, handler: MessageHandler, pattern: string): void {
    let message: unknown;
    try {
      message = decode(msg.data);
    } catch (err) {
      this.#logger.warn(
        { err, subject: msg.subject },
        'bus message is not JSON; skipped',
      );
      return;
    }

    const failed = (err: unknown) =>
      this.#logger.error(
        { err, subject: msg.subject, pattern },
        'bus subscriber failed',
      );
    try {
      // Handlers are typed void, but an async one must not go unwatched.
      const result: unknown = handler(message, msg.subject);
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Lets close() reject requests still waiting for an answer. */
  #untilClosed<T>(answer: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#inFlight.add(reject);
      answer.then(resolve, reject).finally(() => {
        this.#inFlight.delete(reject);
      });
    });
  }
}

function encode(value: unknown, code: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0);

  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new WfeError(
      code,
      `cannot encode as JSON: ${(err as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new WfeError(code, `cannot encode a ${typeof value} as JSON`);
  }
  return encoder.encode(text);
}

// An empty payload stands for `undefined`, which JSON cannot spell.
function decode(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  return JSON.parse(decoder.decode(data));
}

function errorFromReply(reply: ErrorReply): WfeError {
  const { code, message, retryable, details, cause } = reply.error;
  const info: ErrorInfo = {
    code,
    message: typeof message === 'string' ? message : code,
    retryable: retryable === true,
  };
  if (details !== undefined) info.details = details;
  if (isErrorInfo(cause)) info.cause = cause;
  return WfeError.fromInfo(info);
}

function isErrorInfo(value: unknown): value is ErrorInfo {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

// The client lets a space through, which would garble the protocol line.
function checkSubject(subject: string): void {
  if (!isValidSubject(subject)) {
    throw new WfeError('BAD_SUBJECT', `not a valid subject: "${subject}"`, {
      details: { subject },
    });
  }
}

function closedError(): WfeError {
  return new WfeError('BUS_CLOSED', 'the bus is closed');
}

/** A NATS client error, as one of ours. */
function busError(err: unknown, subject: string, timeoutMs?: number): Error {
  if (err instanceof WfeError) return err;

  switch (natsErrorCode(err)) {
    case ErrorCode.NoResponders:
      return new WfeError('NO_RESPONDERS', `nothing serves ${subject}`, {
        retryable: true,
        details: { subject },
      });
    case ErrorCode.Timeout:
      return new WfeError(
        'BUS_TIMEOUT',
        `no answer on ${subject} in ${timeoutMs} ms`,
        { retryable: true, details: { subject, timeoutMs } },
      );
    case ErrorCode.ConnectionClosed:
    case ErrorCode.ConnectionDraining:
      return new WfeError('BUS_CLOSED', 'the NATS connection is closed', {
        cause: err,
      });
    case ErrorCode.Disconnect:
      return new WfeError(
        'BUS_DISCONNECTED',
        `lost the NATS connection while waiting on ${subject}`,
        { retryable: true, details: { subject }, cause: err },
      );
    case ErrorCode.MaxPayloadExceeded:
      return new WfeError(
        'PAYLOAD_TOO_LARGE',
        `the message on ${subject} exceeds the server's limit`,
        { details: { subject }, cause: err },
      );
    default:
      return new WfeError('BUS_ERROR', (err as Error).message, {
        details: { subject },
        cause: err,
      });
  }
}
