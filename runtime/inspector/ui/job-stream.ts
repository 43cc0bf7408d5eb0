// The live state of one job from its event stream: the record, subtree
// and workflow instance, the log lines, and the rscript output split into
// stdout and stderr.
import { useEffect, useReducer } from 'preact/hooks';

import { ApiError, getJson } from './api.js';
import { openStream, type ConnState } from './event-stream.js';
import type { JobDetail, JobLogEntry, JobView } from './types.js';

const MAX_LOG_LINES = 2000;
const MAX_OUTPUT_CHARS = 1_000_000;

export interface JobStreamState {
  snapshot: JobView | null;
  logs: JobLogEntry[];
  stdout: string;
  stderr: string;
  /** Highest seq seen per job id: a reconnect resends the whole log. */
  seen: Record<string, number>;
  conn: ConnState | 'ended';
  error: unknown;
}

type Change =
  | { type: 'snapshot'; snapshot: JobView }
  | { type: 'logs'; entries: JobLogEntry[] }
  | { type: 'conn'; conn: ConnState }
  | { type: 'ended' }
  | { type: 'error'; error: unknown };

const INITIAL: JobStreamState = {
  snapshot: null,
  logs: [],
  stdout: '',
  stderr: '',
  seen: {},
  conn: 'connecting',
  error: null,
};

export function useJobStream(id: string): JobStreamState {
  const [state, dispatch] = useReducer(reduce, INITIAL);

  useEffect(() => {
    const stream = openStream(`/api/jobs/${encodeURIComponent(id)}/stream`, {
      events: {
        job: (data) =>
          dispatch({ type: 'snapshot', snapshot: data as JobView }),
        logs: (data) => {
          const entries = (data as { entries?: unknown }).entries;
          if (Array.isArray(entries)) dispatch({ type: 'logs', entries });
        },
        end: () => {
          dispatch({ type: 'ended' });
          stream.close();
        },
        // The server could not read the job. An unknown job will not
        // appear later, so the page stops asking.
        problem: (data) => {
          const error = problemError(data);
          dispatch({ type: 'error', error });
          if (error.status === 404) stream.close();
        },
      },
      onState: (conn) => dispatch({ type: 'conn', conn }),
      onGiveUp: async () => {
        // A plain GET tells why the stream was refused (404, 401) and
        // fills the page meanwhile.
        try {
          const detail = await getJson<JobDetail>(
            `/api/jobs/${encodeURIComponent(id)}`,
          );
          dispatch({ type: 'snapshot', snapshot: detail });
          dispatch({ type: 'logs', entries: detail.logs ?? [] });
          return true;
        } catch (error) {
          dispatch({ type: 'error', error });
          return !(error instanceof ApiError && error.status === 404);
        }
      },
    });
    return () => stream.close();
  }, [id]);

  return state;
}

function problemError(data: unknown): ApiError {
  const error = (data as { error?: { code?: unknown; message?: unknown } })
    ?.error;
  const code = typeof error?.code === 'string' ? error.code : 'PROBLEM';
  const message =
    typeof error?.message === 'string'
      ? error.message
      : 'the job stream failed';
  return new ApiError(code, message, code === 'NOT_FOUND' ? 404 : 0);
}

function reduce(state: JobStreamState, change: Change): JobStreamState {
  switch (change.type) {
    case 'snapshot':
      if (!change.snapshot?.job) return state;
      return { ...state, snapshot: change.snapshot, error: null };
    case 'logs':
      return addLogs(state, change.entries);
    case 'conn':
      // Closing after `end` must not hide that the job has ended.
      if (state.conn === 'ended') return state;
      return { ...state, conn: change.conn };
    case 'ended':
      return { ...state, conn: 'ended' };
    case 'error':
      return { ...state, error: change.error };
  }
}

function addLogs(
  state: JobStreamState,
  entries: JobLogEntry[],
): JobStreamState {
  const seen = { ...state.seen };
  const logs: JobLogEntry[] = [];
  let { stdout, stderr } = state;
  for (const entry of entries) {
    if (!entry || typeof entry.seq !== 'number') continue;
    if (entry.seq <= (seen[entry.jobId] ?? -Infinity)) continue;
    seen[entry.jobId] = entry.seq;

    const stream = outputStream(entry);
    if (stream === 'stdout') stdout += entry.message ?? '';
    else if (stream === 'stderr') stderr += entry.message ?? '';
    else logs.push(entry);
  }

  return {
    ...state,
    seen,
    logs: logs.length
      ? [...state.logs, ...logs].slice(-MAX_LOG_LINES)
      : state.logs,
    stdout: keepTail(stdout),
    stderr: keepTail(stderr),
  };
}

function outputStream(entry: JobLogEntry): string | undefined {
  const data = entry.data as { stream?: unknown } | null | undefined;
  const stream = data && typeof data === 'object' ? data.stream : undefined;
  return stream === 'stdout' || stream === 'stderr' ? stream : undefined;
}

/** Keeps the last part of a long output, cut at a line start. */
function keepTail(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;

  const tail = text.slice(-MAX_OUTPUT_CHARS);
  const newline = tail.indexOf('\n');
  return `[earlier output dropped]\n${newline >= 0 ? tail.slice(newline + 1) : tail}`;
}
