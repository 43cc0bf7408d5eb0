import type { Bus } from '../bus/types.js';
import { WfeError } from '../errors.js';
import type { RootObject, Write, WriteOutcome } from './types.js';

/** Where the DRP writer takes writes: `Write` in, `WriteOutcome` out. */
export const DRP_WRITE = 'wfe.internal.drp.write';

/** How long a write waits for a writer to appear before it fails. */
const WRITER_ABSENT_MS = 10_000;

/**
 * How everything else in the engine writes to the DRP: over the bus to
 * the single writer, answered once the write's batch is durable. In one
 * process that is a direct call into the writer's mailbox.
 */
export class DrpWriterClient {
  readonly #bus: Bus;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** Resolves with the write's own outcome; rejects if the batch failed. */
  write(write: Write): Promise<WriteOutcome> {
    return this.#bus
      .request<WriteOutcome>(DRP_WRITE, write)
      .catch((err: unknown) => this.#retryWhileAbsent(write, err, 0));
  }

  /** Like `write`, but a failed outcome is thrown as its error. */
  async writeOrThrow(write: Write): Promise<RootObject | undefined> {
    const outcome = await this.write(write);
    if (!outcome.ok) throw WfeError.fromInfo(outcome.error);
    return outcome.object;
  }

  /**
   * With no writer listening (one restarting in another process), the
   * write never reached a store, so sending it again is safe. Anything
   * else may have been applied and goes back to the sender.
   */
  async #retryWhileAbsent(
    write: Write,
    err: unknown,
    waitedMs: number,
  ): Promise<WriteOutcome> {
    const absent = err instanceof WfeError && err.code === 'NO_RESPONDERS';
    if (!absent || waitedMs >= WRITER_ABSENT_MS) throw err;

    // Pauses double from 50 ms up to a second.
    const pauseMs = Math.min(1000, Math.max(50, waitedMs));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    return this.#bus
      .request<WriteOutcome>(DRP_WRITE, write)
      .catch((next: unknown) =>
        this.#retryWhileAbsent(write, next, waitedMs + pauseMs),
      );
  }
}
