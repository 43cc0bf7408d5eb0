import type { ServerResponse } from 'node:http';

/** Comments keep idle proxies from closing the stream. */
const KEEPALIVE_MS = 15_000;

/**
 * One server-sent-events stream. A client that does not keep up is not
 * buffered for: `congested` tells the sender to skip a tick, since the
 * next one carries the whole state again.
 */
export class EventStream {
  readonly #response: ServerResponse;
  readonly #keepalive: NodeJS.Timeout;
  readonly #gone = new AbortController();
  /** Aborted when the client goes away. */
  readonly signal = this.#gone.signal;

  constructor(response: ServerResponse) {
    this.#response = response;
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    this.#keepalive = setInterval(() => response.write(':\n\n'), KEEPALIVE_MS);
    this.#keepalive.unref();
    response.once('close', () => {
      clearInterval(this.#keepalive);
      this.#gone.abort();
    });
  }

  get isClosed(): boolean {
    return this.signal.aborted;
  }

  get congested(): boolean {
    return this.#response.writableNeedDrain;
  }

  /** Sends an event whose data is JSON text already made. */
  sendRaw(event: string, json: string): void {
    if (this.isClosed) return;
    this.#response.write(`event: ${event}\ndata: ${json}\n\n`);
  }

  send(event: string, data: unknown): void {
    this.sendRaw(event, JSON.stringify(data));
  }

  /** Resolves once the client has taken what was written. */
  drained(): Promise<void> {
    if (!this.congested || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#response.off('drain', done);
        this.#response.off('close', done);
        resolve();
      };
      this.#response.once('drain', done);
      this.#response.once('close', done);
    });
  }

  close(): void {
    if (!this.isClosed) this.#response.end();
  }
}
