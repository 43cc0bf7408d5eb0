// Formatting of times, durations, ids and numbers for display.
import { useEffect, useState } from 'preact/hooks';

function isTime(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0;
}

/** Local date and time to the second, e.g. `2025-03-01 14:02:33`. */
export function formatTime(ms: number | null | undefined): string {
  if (!isTime(ms)) return '—';

  const d = new Date(ms);
  return `${formatDay(d)} ${formatClock(ms)}`;
}

/** Local time of day with milliseconds, for logs and history. */
export function formatClock(ms: number | null | undefined): string {
  if (!isTime(ms)) return '—';

  const d = new Date(ms);
  const milli = String(d.getMilliseconds()).padStart(3, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(
    d.getSeconds(),
  )}.${milli}`;
}

/** `3 s ago`, `5 min ago`, measured against the engine's own clock. */
export function formatAgo(ms: number | null | undefined, now: number): string {
  if (!isTime(ms)) return 'never';

  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';

  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;

  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${pad(seconds % 60)} s`;
  }

  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

/** How long a job ran, or has been running until `now`. */
export function jobDuration(
  job: { startedAt?: number | null; endedAt?: number | null },
  now: number,
): string {
  if (!isTime(job.startedAt)) return '—';

  const end = isTime(job.endedAt) ? job.endedAt : now;
  return formatDuration(end - job.startedAt);
}

/**
 * A short form of a job id. Engine ids are 9 characters of creation time,
 * 4 of counter and 10 random ones; their head changes only every few
 * days, so the short form is the fast-moving time digits and the counter.
 */
export function shortId(id: string | null | undefined): string {
  if (!id) return '—';
  if (/^[0-9a-z]{23}$/.test(id)) return id.slice(5, 13);
  return id.length > 12 ? id.slice(0, 8) : id;
}

/** A compact number for chart labels: 0.25, 12, 3.4k. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 10_000) return `${(n / 1000).toFixed(0)}k`;
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(1)}k`;
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(Math.abs(n) < 10 ? 2 : 1);
}

/** `YYYY-MM-DDTHH:mm` in local time, the value of a datetime-local input. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${formatDay(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A clock that re-renders its user every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);

  return now;
}

function formatDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
