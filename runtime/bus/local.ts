import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { hasWildcard, subjectMatches } from './subject.js';
import type {
  Bus,
  BusSubscription,
  MessageHandler,
  RequestHandler,
  RequestOptions,
} from './types.js';

interface Listener<H> {
  subject: string;
  handler: H;
  queue: string | undefined;
}

/**
 * The in-process bus. Messages are handed over as they are, without
 * serialising, and a request is a direct call to its server. Requests
 * time out only when asked to: local servers answer or fail.
 */
export class LocalBus implements Bus {
  readonly kind = 'local' as const;
  readonly #logger: Logger;
  readonly #servers = new Map<string, Listener<RequestHandler>[]>();
  readonly #wildServers: Listener<RequestHandler>[] = [];
  readonly #subscribers = new Map<string, Listener<MessageHandler>[]>();
  readonly #wildSubscribers: Listener<MessageHandler>[] = [];
  readonly #turns = new Map<string, number>();
  #closed = false;

  constructor(options: { logger: Logger }) {
    this.#logger = options.logger;
  }

  /** True when a server in this process answers the subject. */
  serves(subject: string): boolean {
    return this.#serverFor(subject, false) !== undefined;
  }

  publish(subject: string, message: unknown): void {
    if (this.#closed) return;

    const listeners = this.#matching(
      this.#subscribers,
      this.#wildSubscribers,
      subject,
    );
    if (listeners.length === 0) return;

    const seenQueues = new Set<string>();
    for (const listener of listeners) {
      if (listener.queue !== undefined) {
        if (seenQueues.has(listener.queue)) continue;
        seenQueues.add(listener.queue);
        const group = listeners.filter((l) => l.queue === listener.queue);
        this.#deliver(
          this.#take(`q:${listener.queue}`, group),
          subject,
          message,
        );
        continue;
      }
      this.#deliver(listener, subject, message);
    }
  }

  request<T>(
    subject: string,
    message: unknown,
    options: RequestOptions = {},
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new WfeError('BUS_CLOSED', 'the bus is closed'));
    }

    const server = this.#serverFor(subject, true);
    if (!server) {
      return Promise.reject(
        new WfeError('NO_RESPONDERS', `nothing serves ${subject}`, {
          retryable: true,
          details: { subject },
        }),
      );
    }

    let answer: Promise<T>;
    try {
      answer = Promise.resolve(server.handler(message, subject) as T);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return options.timeoutMs === undefined
      ? answer
      : withTimeout(answer, options.timeoutMs, subject);
  }

  serve(
    subject: string,
    handler: RequestHandler,
    options: { queue?: string } = {},
  ): BusSubscription {
    return this.#add(this.#servers, this.#wildServers, {
      subject,
      handler,
      queue: options.queue,
    });
  }

  subscribe(
    subject: string,
    handler: MessageHandler,
    options: { queue?: string } = {},
  ): BusSubscription {
    return this.#add(this.#subscribers, this.#wildSubscribers, {
      subject,
      handler,
      queue: options.queue,
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#servers.clear();
    this.#subscribers.clear();
    this.#wildServers.length = 0;
    this.#wildSubscribers.length = 0;
    return Promise.resolve();
  }

  #serverFor(
    subject: string,
    takeTurn: boolean,
  ): Listener<RequestHandler> | undefined {
    const servers = this.#matching(this.#servers, this.#wildServers, subject);
    if (servers.length <= 1 || !takeTurn) return servers[0];
    return this.#take(`s:${subject}`, servers);
  }

  /** Round robin, so that a queue group shares the work. */
  #take<H>(key: string, listeners: Listener<H>[]): Listener<H> {
    const turn = this.#turns.get(key) ?? 0;
    this.#turns.set(key, turn + 1);
    return listeners[turn % listeners.length]!;
  }

  #matching<H>(
    exact: Map<string, Listener<H>[]>,
    wild: Listener<H>[],
    subject: string,
  ): Listener<H>[] {
    const direct = exact.get(subject) ?? [];
    if (wild.length === 0) return direct;
    return [
      ...direct,
      ...wild.filter((l) => subjectMatches(l.subject, subject)),
    ];
  }

  #deliver(
    listener: Listener<MessageHandler>,
    subject: string,
    message: unknown,
  ): void {
    try {
      listener.handler(message, subject);
    } catch (err) {
      this.#logger.error(
        { err, subject, pattern: listener.subject },
        'bus subscriber failed',
      );
    }
  }

  #add<H>(
    exact: Map<string, Listener<H>[]>,
    wild: Listener<H>[],
    listener: Listener<H>,
  ): BusSubscription {
    const list = hasWildcard(listener.subject)
      ? wild
      : (exact.get(listener.subject) ??
        exact.set(listener.subject, []).get(listener.subject)!);
    list.push(listener);

    return {
      unsubscribe: () => {
        const at = list.indexOf(listener);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0 && list !== wild) {
          exact.delete(listener.subject);
        }
      },
    };
  }
}

function withTimeout<T>(
  answer: Promise<T>,
  timeoutMs: number,
  subject: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new WfeError(
            'BUS_TIMEOUT',
            `no answer on ${subject} in ${timeoutMs} ms`,
            {
              retryable: true,
              details: { subject, timeoutMs },
            },
          ),
        ),
      timeoutMs,
    );
    answer.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}
