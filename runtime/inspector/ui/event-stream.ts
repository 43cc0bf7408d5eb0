// A server-sent events connection that reports its state and comes back
// on its own. The browser retries a dropped connection by itself, but it
// gives up for good on an HTTP error (a 401, a 404, a server restarting
// behind a proxy); then we ask `onGiveUp` what went wrong and try again
// later unless it says the stream is gone for good.

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StreamOptions {
  /** Handlers by event name; each gets the event's parsed JSON data. */
  events: Record<string, (data: unknown) => void>;
  onState: (state: ConnState) => void;
  /** Called when the browser gave up; resolve false to stop retrying. */
  onGiveUp?: () => Promise<boolean>;
}

export interface StreamHandle {
  close(): void;
}

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 10_000;

export function openStream(url: string, options: StreamOptions): StreamHandle {
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = FIRST_RETRY_MS;
  let closed = false;

  const close = () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
    source = null;
    options.onState('closed');
  };

  const retryLater = async () => {
    const retry = options.onGiveUp ? await options.onGiveUp() : true;
    if (closed) return;
    if (!retry) return close();

    timer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  };

  const connect = () => {
    if (closed) return;

    const current = new EventSource(url);
    source = current;
    current.onopen = () => {
      retryMs = FIRST_RETRY_MS;
      options.onState('live');
    };
    current.onerror = () => {
      if (closed || source !== current) return;

      options.onState('reconnecting');
      if (current.readyState !== EventSource.CLOSED) return;

      current.close();
      source = null;
      void retryLater();
    };
    for (const [name, handle] of Object.entries(options.events)) {
      current.addEventListener(name, (event) => {
        const data = parseData((event as MessageEvent).data);
        if (data !== undefined && !closed) handle(data);
      });
    }
  };

  options.onState('connecting');
  connect();
  return { close };
}

function parseData(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;

  try {
    return JSON.parse(raw) as unknown;
  } catch {
    // A malformed event is dropped: the next one carries the whole state.
    return undefined;
  }
}
