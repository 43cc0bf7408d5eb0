// The Cancel button of a waiting or running job, behind a confirmation.
import { useState } from 'preact/hooks';

import { errorMessage, postJson } from './api.js';
import { ConfirmDialog } from './confirm.js';
import { shortId } from './format.js';
import type { JobRecord } from './types.js';

export function CancelJob({ job }: { job: JobRecord }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  const [refused, setRefused] = useState<string | null>(null);
  const [requested, setRequested] = useState(false);
  const cancellable = job.status === 'waiting' || job.status === 'running';

  const confirm = async () => {
    setBusy(true);
    try {
      const body = reason.trim() ? { reason: reason.trim() } : {};
      await postJson(`/api/jobs/${encodeURIComponent(job.id)}/cancel`, body);
      setRefused(null);
      setRequested(true);
    } catch (error) {
      setRefused(errorMessage(error));
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };

  return (
    <span class="job-action">
      {cancellable && (
        <button
          type="button"
          class="danger"
          data-testid="cancel-job"
          onClick={() => {
            setRefused(null);
            setAsking(true);
          }}
        >
          Cancel job
        </button>
      )}
      {cancellable && requested && <span class="muted">cancel requested…</span>}
      {refused && (
        <span class="action-error" role="alert" data-testid="action-error">
          {refused}
        </span>
      )}
      {asking && (
        <ConfirmDialog
          title="Cancel this job?"
          confirmLabel="Cancel job"
          busy={busy}
          danger
          onConfirm={() => void confirm()}
          onCancel={() => setAsking(false)}
        >
          <p>
            Job <code>{shortId(job.id)}</code> <b>{job.action}</b>
            {job.target ? ` on ${job.target}` : ''} and every job below it will
            be cancelled.
          </p>
          <label class="stack">
            reason (optional)
            <input
              type="text"
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </label>
        </ConfirmDialog>
      )}
    </span>
  );
}
