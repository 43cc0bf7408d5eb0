import type { LocalBus } from './local.js';
import type { NatsBus } from './nats.js';
import type {
  Bus,
  BusSubscription,
  MessageHandler,
  RequestHandler,
  RequestOptions,
  ServeOptions,
} from './types.js';

/**
 * In-process first, NATS for the rest. Servers and subscribers register
 * on both buses, so other processes reach them too; a request that this
 * process can answer never leaves it.
 *
 * The NATS connection must be made with `noEcho` (connectNats does):
 * what this process publishes reaches its own subscribers through the
 * local bus only, not a second time through the server.
 *
 * A queue group spans both buses as two groups: a message published here
 * reaches one local member and one member in another process.
 */
export class HybridBus implements Bus {
  readonly kind = 'hybrid' as const;
  readonly local: LocalBus;
  readonly nats: NatsBus;

  constructor(options: { local: LocalBus; nats: NatsBus }) {
    this.local = options.local;
    this.nats = options.nats;
  }

  publish(subject: string, message: unknown): void {
    // NATS first: it rejects what cannot travel before anyone sees it.
    this.nats.publish(subject, message);
    this.local.publish(subject, message);
  }

  request<T = unknown>(
    subject: string,
    message: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.local.serves(subject)
      ? this.local.request<T>(subject, message, options)
      : this.nats.request<T>(subject, message, options);
  }

  serve(
    subject: string,
    handler: RequestHandler,
    options: ServeOptions = {},
  ): BusSubscription {
    const remote = this.nats.serve(subject, handler, options);
    const local = this.local.serve(subject, handler, options);
    return both(local, remote);
  }

  subscribe(
    subject: string,
    handler: MessageHandler,
    options: { queue?: string } = {},
  ): BusSubscription {
    const remote = this.nats.subscribe(subject, handler, options);
    const local = this.local.subscribe(subject, handler, options);
    return both(local, remote);
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.nats.close()]);
  }
}

function both(
  first: BusSubscription,
  second: BusSubscription,
): BusSubscription {
  return {
    unsubscribe: () => {
      first.unsubscribe();
      second.unsubscribe();
    },
  };
}
