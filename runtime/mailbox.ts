import { WfeError } from './errors.js';

/**
 * What happens when a full mailbox gets another message: `reject` throws
 * MAILBOX_FULL at the sender; `wait` makes the sender wait for room.
 */
export type OverflowPolicy = 'reject' | 'wait';

export interface MailboxOptions {
  name: string;
  capacity: number;
  overflow: OverflowPolicy;
}

export interface MailboxStats {
  name: string;
  depth: number;
  capacity: number;
  overflow: OverflowPolicy;
  /** The deepest the mailbox has been. */
  highWater: number;
  /** Senders currently waiting for room. */
  waitingSenders: number;
  rejected: number;
  delivered: number;
}

interface WaitingSender<T> {
  message: T;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * A bounded FIFO in front of an actor. The consumer is told once per
 * microtask that messages arrived, then takes them in order; depth is the
 * number of messages accepted but not yet taken.
 */
export class Mailbox<T> {
  readonly name: string;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;

  #items: T[] = [];
  #head = 0;
  #waiting: WaitingSender<T>[] = [];
  #consumer: (() => void) | null = null;
  #notifyScheduled = false;
  #closed: WfeError | null = null;
  #highWater = 0;
  #rejected = 0;
  #delivered = 0;

  constructor(options: MailboxOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new WfeError(
        'BAD_CONFIG',
        `mailbox ${options.name}: capacity must be a positive integer`,
      );
    }
    this.name = options.name;
    this.capacity = options.capacity;
    this.overflow = options.overflow;
  }

  get depth(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Offers a message. Returns nothing when it was accepted at once; under
   * the `wait` policy a full mailbox returns a promise that settles when
   * the message is in.
   */
  send(message: T): Promise<void> | undefined {
    if (this.#closed) throw this.#closed;

    if (this.depth < this.capacity && this.#waiting.length === 0) {
      this.#push(message);
      return undefined;
    }

    if (this.overflow === 'reject') {
      this.#rejected++;
      throw new WfeError(
        'MAILBOX_FULL',
        `mailbox ${this.name} is full (${this.capacity} messages)`,
        { retryable: true, details: { mailbox: this.name } },
      );
    }

    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ message, resolve, reject });
    });
  }

  /** Takes up to `max` messages, oldest first, and lets waiters in. */
  take(max = Infinity): T[] {
    const end = Math.min(this.#items.length, this.#head + max);
    const taken = this.#items.slice(this.#head, end);
    this.#head = end;
    this.#delivered += taken.length;

    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }

    this.#admitWaiting();
    return taken;
  }

  /** Registers the one consumer; it is called when messages are waiting. */
  consume(onMessages: () => void): void {
    this.#consumer = onMessages;
    if (this.depth > 0) this.#scheduleNotify();
  }

  /** Refuses further messages; senders still waiting get `reason`. */
  close(reason: WfeError): T[] {
    this.#closed = reason;
    for (const sender of this.#waiting.splice(0)) sender.reject(reason);
    return this.take();
  }

  stats(): MailboxStats {
    return {
      name: this.name,
      depth: this.depth,
      capacity: this.capacity,
      overflow: this.overflow,
      highWater: this.#highWater,
      waitingSenders: this.#waiting.length,
      rejected: this.#rejected,
      delivered: this.#delivered,
    };
  }

  #push(message: T): void {
    this.#items.push(message);
    const depth = this.depth;
    if (depth > this.#highWater) this.#highWater = depth;
    this.#scheduleNotify();
  }

  #admitWaiting(): void {
    while (this.#waiting.length > 0 && this.depth < this.capacity) {
      const sender = this.#waiting.shift()!;
      this.#push(sender.message);
      sender.resolve();
    }
  }

  #scheduleNotify(): void {
    if (this.#notifyScheduled || !this.#consumer) return;
    this.#notifyScheduled = true;
    queueMicrotask(this.#notify);
  }

  #notify = (): void => {
    this.#notifyScheduled = false;
    if (this.depth > 0) this.#consumer?.();
  };
}
