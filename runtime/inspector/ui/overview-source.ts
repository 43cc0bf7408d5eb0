// The one overview stream of the page: the header shows its state, the
// system page its data, and the jobs page listens for job activity.
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

import { errorMessage, getJson } from './api.js';
import { openStream, type ConnState } from './event-stream.js';
import type { Overview } from './types.js';

export interface OverviewState {
  overview: Overview | null;
  conn: ConnState;
  /** Why the stream is down, when the server told us. */
  error: string | null;
}

export interface OverviewSource {
  current(): OverviewState;
  subscribe(listener: (state: OverviewState) => void): () => void;
  onJobsActivity(listener: () => void): () => void;
}

export function createOverviewSource(url = '/api/stream'): OverviewSource {
  let state: OverviewState = {
    overview: null,
    conn: 'connecting',
    error: null,
  };
  const listeners = new Set<(state: OverviewState) => void>();
  const jobListeners = new Set<() => void>();

  const update = (change: Partial<OverviewState>) => {
    state = { ...state, ...change };
    for (const listener of listeners) listener(state);
  };

  openStream(url, {
    events: {
      overview: (data) => {
        // Anything but an object is not an overview: keep the last one.
        if (data && typeof data === 'object' && !Array.isArray(data)) {
          update({ overview: data as Overview, error: null });
        }
      },
      jobs: () => {
        for (const listener of jobListeners) listener();
      },
    },
    onState: (conn) => update({ conn }),
    onGiveUp: async () => {
      // The stream hides the HTTP status; a plain request shows it (a 401
      // becomes the token message) and refreshes the data meanwhile.
      try {
        update({ overview: await getJson<Overview>('/api/overview') });
      } catch (error) {
        update({ error: errorMessage(error) });
      }
      return true;
    },
  });

  return {
    current: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onJobsActivity(listener) {
      jobListeners.add(listener);
      return () => jobListeners.delete(listener);
    },
  };
}

export const OverviewContext = createContext<OverviewSource | null>(null);

export function useOverview(): OverviewState {
  const source = useContext(OverviewContext);
  const [state, setState] = useState<OverviewState>(
    () => source?.current() ?? { overview: null, conn: 'closed', error: null },
  );

  useEffect(() => {
    if (!source) return;
    setState(source.current());
    return source.subscribe(setState);
  }, [source]);

  return state;
}

/**
 * Calls `listener` when the engine reports job activity, at most once
 * per `minGapMs` (a late call catches up the activity it held back).
 */
export function useJobsActivity(listener: () => void, minGapMs = 1000): void {
  const source = useContext(OverviewContext);
  const latest = useRef(listener);
  latest.current = listener;

  useEffect(() => {
    if (!source) return;

    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fire = () => {
      timer = undefined;
      last = Date.now();
      latest.current();
    };
    const unsubscribe = source.onJobsActivity(() => {
      if (timer) return;
      const wait = last + minGapMs - Date.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    });

    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [source, minGapMs]);
}
