import type { WriteRequest } from '../../actors/drp-writer.js';
import type { Bus, BusSubscription } from '../bus/types.js';
import { WfeError } from '../errors.js';
import { describe, isPlainObject } from '../jobs/submission.js';
import type { Mailbox } from '../mailbox.js';
import type { Write, WriteOutcome } from './types.js';
import { DRP_WRITE } from './writer-client.js';

/**
 * Puts writes that arrive on the bus into the writer's mailbox. The
 * answer comes when the write's batch is durable. Writes from other
 * processes arrive as parsed JSON, so their shape is checked here; the
 * store checks their content.
 */
export function serveWriter(
  bus: Bus,
  mailbox: Mailbox<WriteRequest>,
): BusSubscription {
  return bus.serve(DRP_WRITE, (message) => {
    if (!isPlainObject(message)) {
      throw new WfeError(
        'BAD_WRITE',
        `a write must be an object, got ${describe(message)}`,
      );
    }

    return new Promise<WriteOutcome>((resolve, reject) => {
      const waiting = mailbox.send({
        write: message as Write,
        resolve,
        reject,
      });
      if (waiting) waiting.catch(reject);
    });
  });
}
