/**
 * How the parts of the engine address each other: by subject, as NATS
 * does. The local bus hands objects over in-process without copying; the
 * NATS bus carries them as JSON between processes.
 *
 * Requests are answered by one server. A server that throws makes the
 * request reject with an error of the same code; over NATS such an
 * answer travels as an object whose only key is `error`.
 */
export interface Bus {
  readonly kind: 'local' | 'nats' | 'hybrid';
  /** Fire and forget: nobody listening is not an error. */
  publish(subject: string, message: unknown): void;
  /**
   * Resolves with the server's answer. Rejects with NO_RESPONDERS when
   * nobody serves the subject, and with BUS_TIMEOUT after `timeoutMs`.
   */
  request<T = unknown>(
    subject: string,
    message: unknown,
    options?: RequestOptions,
  ): Promise<T>;
  /** Answers requests on a subject; in a queue group, one member each. */
  serve(
    subject: string,
    handler: RequestHandler,
    options?: ServeOptions,
  ): BusSubscription;
  /** Receives published messages; `*` and `>` wildcards match as in NATS. */
  subscribe(
    subject: string,
    handler: MessageHandler,
    options?: { queue?: string },
  ): BusSubscription;
  /** Stops serving and delivering; in-flight requests are rejected. */
  close(): Promise<void>;
}

export interface RequestOptions {
  /** @default 30_000 */
  timeoutMs?: number;
}

export interface ServeOptions {
  queue?: string;
  /**
   * Requests larger than this get a PAYLOAD_TOO_LARGE answer without
   * reaching the handler. Only a bus that serialises can tell.
   */
  maxBytes?: number;
}

export type RequestHandler = (message: unknown, subject: string) => unknown;

export type MessageHandler = (message: unknown, subject: string) => void;

export interface BusSubscription {
  unsubscribe(): void;
}

/** The answer of a server that failed, as it travels over the wire. */
export interface ErrorReply {
  error: { code: string; message: string; [key: string]: unknown };
}

export function isErrorReply(value: unknown): value is ErrorReply {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const { error } = value as { error: unknown };
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}
