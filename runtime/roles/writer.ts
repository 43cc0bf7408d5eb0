import type { WriteRequest } from '../../actors/drp-writer.js';
import { drpWriterMachine } from '../../actors/drp-writer.js';
import type { ChildSpec } from '../../actors/supervisor.js';
import type { Bus, BusSubscription } from '../bus/types.js';
import type { Clock } from '../clock.js';
import { serveReads } from '../drp/bus-store.js';
import type { JobRecord, Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import { serveWriter } from '../drp/writer-service.js';
import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { Mailbox } from '../mailbox.js';
import type { LivenessTimes } from './liveness.js';
import { Reaper } from './reaper.js';

export interface WriterRoleOptions {
  bus: Bus;
  store: Store;
  writer: DrpWriterClient;
  clock: Clock;
  logger: Logger;
  capacity: number;
  maxBatch: number;
  times: LivenessTimes;
  /** Whether other processes reach this writer over NATS. */
  shared: boolean;
  selfOwner: string | null;
  deadOwner: string | null;
  onReaped?(job: JobRecord): void;
}

/**
 * The part of the engine that owns the store: the single writer, the
 * reads other processes ask for, and the reaper of dead runners' jobs.
 */
export class WriterRole {
  readonly mailbox: Mailbox<WriteRequest>;
  readonly reaper: Reaper;
  readonly #subscriptions: BusSubscription[];
  readonly #options: WriterRoleOptions;

  constructor(options: WriterRoleOptions) {
    this.#options = options;
    this.mailbox = new Mailbox<WriteRequest>({
      name: 'drp-writer',
      capacity: options.capacity,
      overflow: 'wait',
    });
    this.#subscriptions = [serveWriter(options.bus, this.mailbox)];
    if (options.shared) {
      this.#subscriptions.push(serveReads(options.bus, options.store));
    }
    this.reaper = new Reaper({
      bus: options.bus,
      store: options.store,
      writer: options.writer,
      clock: options.clock,
      logger: options.logger,
      times: options.times,
      selfOwner: options.selfOwner,
      deadOwner: options.deadOwner,
      shared: options.shared,
      onReaped: options.onReaped,
    });
  }

  /** The writer actor, for the root supervisor to run. */
  childSpec(): ChildSpec {
    return {
      id: 'drp-writer',
      logic: drpWriterMachine,
      restart: 'permanent',
      input: {
        store: this.#options.store,
        mailbox: this.mailbox,
        logger: this.#options.logger,
        maxBatch: this.#options.maxBatch,
      },
    };
  }

  /** Stops taking requests; queued writes still get committed. */
  stopServing(): void {
    this.reaper.stop();
    for (const subscription of this.#subscriptions) {
      subscription.unsubscribe();
    }
  }

  /**
   * Resolves once every write queued so far is durable: the writer is
   * FIFO, so an empty write answered means all before it were.
   */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => resolve();
      const write = { kind: 'log.append' as const, entries: [] };
      const waiting = this.mailbox.send({ write, resolve: done, reject: done });
      if (waiting) waiting.catch(done);
    });
  }

  /** Fails every write still queued: nobody will commit them. */
  failQueued(): void {
    const closed = new WfeError('SHUTTING_DOWN', 'the engine stopped');
    for (const request of this.mailbox.close(closed)) request.reject(closed);
  }
}
