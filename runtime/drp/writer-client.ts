import type { WriteRequest } from '../../actors/drp-writer.js';
import { WfeError } from '../errors.js';
import type { Mailbox } from '../mailbox.js';
import type { RootObject, Write, WriteOutcome } from './types.js';

/**
 * How everything else in the engine writes to the DRP: through the
 * writer's mailbox, answered once the write's batch is durable.
 */
export class DrpWriterClient {
  readonly #mailbox: Mailbox<WriteRequest>;

  constructor(mailbox: Mailbox<WriteRequest>) {
    this.#mailbox = mailbox;
  }

  /** Resolves with the write's own outcome; rejects if the batch failed. */
  write(write: Write): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      try {
        const waiting = this.#mailbox.send({ write, resolve, reject });
        if (waiting) waiting.catch(reject);
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Like `write`, but a failed outcome is thrown as its error. */
  async writeOrThrow(write: Write): Promise<RootObject | undefined> {
    const outcome = await this.write(write);
    if (!outcome.ok) throw WfeError.fromInfo(outcome.error);
    return outcome.object;
  }
}
