// The jobs list: filters, one page of jobs, Newer/Older paging. The page
// refetches itself when the overview stream reports job activity.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { getJson } from './api.js';
import { ErrorBox } from './error-box.js';
import { formatTime, jobDuration, shortId, useNow } from './format.js';
import { JobsFilters } from './jobs-filters.js';
import { useJobsActivity } from './overview-source.js';
import { jobHash, navigate, type JobFilters } from './router.js';
import { StatusBadge } from './status-badge.js';
import type { JobPage, JobRecord } from './types.js';

const PAGE_SIZE = 50;

/** Mount with a key per filter set: paging starts over when they change. */
export function JobsPage({ filters }: { filters: JobFilters }) {
  const actions = useActions();
  const [cursor, setCursor] = useState<string | null>(null);
  const [stack, setStack] = useState<(string | null)[]>([]);
  const [page, setPage] = useState<JobPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const latest = useRef(0);

  const load = useCallback(async () => {
    const ask = ++latest.current;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.status) params.set('status', filters.status);
    if (filters.action) params.set('action', filters.action);
    const before = cursor ?? filters.before;
    if (before) params.set('before', before);

    try {
      const answer = await getJson<JobPage>(`/api/jobs?${params}`);
      if (ask !== latest.current) return;
      setPage({ jobs: answer?.jobs ?? [], next: answer?.next ?? null });
      setError(null);
    } catch (err) {
      if (ask === latest.current) setError(err);
    }
  }, [filters.status, filters.action, filters.before, cursor]);

  useEffect(() => void load(), [load]);
  useJobsActivity(() => void load());

  const older = () => {
    if (!page?.next) return;
    setStack([...stack, cursor]);
    setCursor(page.next);
  };
  const newer = () => {
    setCursor(stack.at(-1) ?? null);
    setStack(stack.slice(0, -1));
  };

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Jobs</h1>
        <JobsFilters filters={filters} actions={actions.list} />
      </div>
      <ErrorBox title="actions" error={actions.error} />
      <ErrorBox title="jobs" error={error} />
      {page && <JobsTable jobs={page.jobs} />}
      {!page && !error && <p class="muted">loading…</p>}
      <div class="pager">
        <button
          type="button"
          data-testid="newer"
          disabled={stack.length === 0}
          onClick={newer}
        >
          ← Newer
        </button>
        <span class="muted">page {stack.length + 1}</span>
        <button
          type="button"
          data-testid="older"
          disabled={!page?.next}
          onClick={older}
        >
          Older →
        </button>
      </div>
    </main>
  );
}

function JobsTable({ jobs }: { jobs: JobRecord[] }) {
  const now = useNow();
  if (jobs.length === 0) return <p class="muted">no jobs match</p>;

  return (
    <table class="grid jobs">
      <thead>
        <tr>
          <th>id</th>
          <th>action</th>
          <th>target</th>
          <th>status</th>
          <th>created</th>
          <th class="num">duration</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr
            key={job.id}
            data-job-id={job.id}
            class="clickable"
            onClick={() => navigate(jobHash(job.id))}
          >
            <td class="mono">
              <a href={jobHash(job.id)} title={job.id}>
                {shortId(job.id)}
              </a>
            </td>
            <td data-field="action">{job.action}</td>
            <td data-field="target">
              {job.target ?? <span class="muted">—</span>}
            </td>
            <td data-field="status">
              <StatusBadge status={job.status} />
            </td>
            <td>{formatTime(job.createdAt)}</td>
            <td class="num">{jobDuration(job, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function useActions(): { list: string[]; error: unknown } {
  const [state, setState] = useState<{ list: string[]; error: unknown }>({
    list: [],
    error: null,
  });

  useEffect(() => {
    getJson<{ actions?: unknown }>('/api/actions').then(
      (answer) => {
        const list = Array.isArray(answer?.actions) ? answer.actions : [];
        setState({
          list: list.filter((a) => typeof a === 'string'),
          error: null,
        });
      },
      (error: unknown) => setState({ list: [], error }),
    );
  }, []);

  return state;
}
