import type { DrpWriterClient } from '../drp/writer-client.js';
import type { JobLogEntry, LogLevel } from '../drp/types.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { JobLog } from '../tasklets/types.js';

/**
 * A job's own log: every line goes to the DRP through the writer, in
 * order, and to the engine's logger at debug level. Lines are written as
 * they happen, not buffered, so a crash loses none that were written.
 */
export class JobLogWriter implements JobLog {
  #seq = 0;

  constructor(
    readonly jobId: string,
    private readonly writer: DrpWriterClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Told of each line once it is durable. */
    private readonly onStored?: (entry: JobLogEntry) => void,
  ) {}

  /** Goes on after the lines a job already has, when it is resumed. */
  continueAfter(seq: number): void {
    this.#seq = Math.max(this.#seq, seq);
  }

  debug(message: string, data?: unknown): void {
    this.append('debug', message, data);
  }

  info(message: string, data?: unknown): void {
    this.append('info', message, data);
  }

  warn(message: string, data?: unknown): void {
    this.append('warn', message, data);
  }

  error(message: string, data?: unknown): void {
    this.append('error', message, data);
  }

  append(level: LogLevel, message: string, data?: unknown): void {
    const entry: JobLogEntry = {
      jobId: this.jobId,
      seq: ++this.#seq,
      at: this.clock.now(),
      level,
      message: String(message),
    };
    if (data !== undefined) entry.data = data;

    this.logger.debug({ jobId: this.jobId, level, data }, message);
    this.writer
      .write({ kind: 'log.append', entries: [entry] })
      .then((outcome) => {
        if (!outcome.ok) this.#lost(entry, outcome.error);
        else this.onStored?.(entry);
      })
      .catch((err: unknown) => this.#lost(entry, err));
  }

  #lost(entry: JobLogEntry, err: unknown): void {
    this.logger.error(
      { jobId: this.jobId, seq: entry.seq, err },
      'job log line could not be stored',
    );
  }
}
