// One job, live: its record, subtree, logs and output, and the workflow
// it runs if any. Mount with a key per job id so the state starts over.
import { ApiError } from './api.js';
import { CancelJob } from './cancel-job.js';
import { ErrorBox } from './error-box.js';
import {
  formatDuration,
  formatTime,
  jobDuration,
  shortId,
  useNow,
} from './format.js';
import { useJobStream, type JobStreamState } from './job-stream.js';
import { JobTree } from './job-tree.js';
import { Json } from './json.js';
import { LogList } from './log-list.js';
import { OutputPanes } from './output.js';
import { jobHash } from './router.js';
import { StatusBadge } from './status-badge.js';
import type { JobRecord } from './types.js';
import { WorkflowView } from './workflow-view.js';

const STREAM_TEXT: Record<JobStreamState['conn'], string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  closed: 'disconnected',
  ended: 'ended',
};

export function JobPage({ id }: { id: string }) {
  const state = useJobStream(id);
  const now = useNow();
  const snapshot = state.snapshot;

  if (!snapshot) {
    const missing =
      state.error instanceof ApiError && state.error.status === 404;
    return (
      <main class="page">
        <h1>
          Job <span class="mono">{id}</span>
        </h1>
        <ErrorBox
          title={missing ? 'unknown job' : 'job unavailable'}
          error={state.error}
        />
        {!state.error && <p class="muted">loading…</p>}
        <p>
          <a href="#/jobs">← all jobs</a>
        </p>
      </main>
    );
  }

  const job = snapshot.job;
  return (
    <main class="page job-page">
      <div class="toolbar">
        <h1>
          Job{' '}
          <span class="mono" title={job.id}>
            {shortId(job.id)}
          </span>{' '}
          <span class="action-name">{job.action}</span>
        </h1>
        <StatusBadge status={job.status} testId="job-status" />
        <span
          class={`stream-state conn-${state.conn}`}
          data-testid="job-stream"
        >
          {STREAM_TEXT[state.conn]}
        </span>
        <CancelJob job={job} />
      </div>
      <ErrorBox title="stream" error={state.error} />
      <div class="job-summary">
        <section class="card">
          <JobFacts job={job} now={now} />
        </section>
        <section class="card">
          {job.error && (
            <div class="job-error" data-testid="job-error">
              <code>{job.error.code}</code>: {job.error.message}
              {job.error.retryable && <span class="muted"> (retryable)</span>}
            </div>
          )}
          {job.error &&
            (job.error.details !== undefined ||
              job.error.cause !== undefined) && (
              <Json
                value={{ details: job.error.details, cause: job.error.cause }}
              />
            )}
          <h3>params</h3>
          <Json value={job.params} empty="no params" />
          <h3>result</h3>
          <Json value={job.result ?? undefined} empty="no result" />
        </section>
      </div>
      {snapshot.instance && (
        <WorkflowView jobId={job.id} instance={snapshot.instance} />
      )}
      <section class="card">
        <h2>Subtree</h2>
        <JobTree rootId={job.id} tree={snapshot.tree ?? [job]} now={now} />
      </section>
      <section class="card">
        <h2>Output</h2>
        <OutputPanes stdout={state.stdout} stderr={state.stderr} />
      </section>
      <section class="card">
        <h2>Logs</h2>
        <LogList logs={state.logs} jobId={job.id} />
      </section>
    </main>
  );
}

function JobFacts({ job, now }: { job: JobRecord; now: number }) {
  return (
    <dl class="facts">
      <dt>id</dt>
      <dd class="mono">{job.id}</dd>
      <dt>action</dt>
      <dd>{job.action}</dd>
      <dt>target</dt>
      <dd>{job.target ?? '—'}</dd>
      <dt>owner</dt>
      <dd>{job.owner ?? '—'}</dd>
      <dt>idempotency key</dt>
      <dd class="mono">{job.idempotencyKey ?? '—'}</dd>
      <dt>parent</dt>
      <dd class="mono">{jobLink(job.parentId)}</dd>
      <dt>root</dt>
      <dd class="mono">
        {job.rootId === job.id ? 'itself' : jobLink(job.rootId)}
      </dd>
      <dt>created</dt>
      <dd>{formatTime(job.createdAt)}</dd>
      <dt>started</dt>
      <dd>{formatTime(job.startedAt)}</dd>
      <dt>ended</dt>
      <dd>{formatTime(job.endedAt)}</dd>
      <dt>duration</dt>
      <dd>{jobDuration(job, now)}</dd>
      <dt>max duration</dt>
      <dd>{job.maxDurationMs ? formatDuration(job.maxDurationMs) : '—'}</dd>
    </dl>
  );
}

function jobLink(id: string | null | undefined) {
  if (!id) return '—';
  return (
    <a href={jobHash(id)} title={id}>
      {shortId(id)}
    </a>
  );
}
