// Sends an event to a workflow instance: a name (one the active states
// accept, or any other), an optional JSON payload checked before sending,
// and a confirmation.
import { useState } from 'preact/hooks';

import { errorMessage, postJson } from './api.js';
import { ConfirmDialog } from './confirm.js';
import { shortId } from './format.js';

interface Props {
  jobId: string;
  events: string[];
  running: boolean;
}

interface Pending {
  type: string;
  payload: unknown;
  hasPayload: boolean;
}

export function SendEvent({ jobId, events, running }: Props) {
  const [type, setType] = useState('');
  const [payloadText, setPayloadText] = useState('');
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const listId = `events-${jobId}`;

  const check = () => {
    setSent(null);
    const name = type.trim();
    if (!name) return setProblem('choose or type an event name');

    if (!payloadText.trim()) {
      setProblem(null);
      return setPending({ type: name, payload: undefined, hasPayload: false });
    }

    try {
      const payload = JSON.parse(payloadText) as unknown;
      setProblem(null);
      setPending({ type: name, payload, hasPayload: true });
    } catch (error) {
      setProblem(`the payload is not valid JSON: ${errorMessage(error)}`);
    }
  };

  const send = async (event: Pending) => {
    setBusy(true);
    try {
      const body = event.hasPayload
        ? { type: event.type, payload: event.payload }
        : { type: event.type };
      await postJson(`/api/jobs/${encodeURIComponent(jobId)}/events`, body);
      setSent(event.type);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
      setPending(null);
    }
  };

  return (
    <div class="send-event">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          check();
        }}
      >
        <h3>Send event</h3>
        {!running && (
          <p class="muted">
            the workflow is not running; the engine may refuse
          </p>
        )}
        <div class="event-chips">
          {events.map((name) => (
            <button
              type="button"
              key={name}
              class={`chip ${name === type ? 'chosen' : ''}`}
              onClick={() => setType(name)}
            >
              {name}
            </button>
          ))}
          {events.length === 0 && (
            <span class="muted">no event is expected now</span>
          )}
        </div>
        <label class="stack">
          event
          <input
            type="text"
            list={listId}
            data-testid="event-type"
            placeholder="event name"
            value={type}
            onInput={(e) => setType(e.currentTarget.value)}
          />
          <datalist id={listId}>
            {events.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </label>
        <label class="stack">
          payload (JSON, optional)
          <textarea
            data-testid="event-payload"
            rows={3}
            spellcheck={false}
            placeholder='{"approved": true}'
            value={payloadText}
            onInput={(e) => setPayloadText(e.currentTarget.value)}
          />
        </label>
        <div class="row">
          <button type="submit" class="primary" data-testid="send-event">
            Send…
          </button>
          {sent && <span class="ok-text">sent {sent}</span>}
        </div>
        {problem && (
          <p class="action-error" role="alert" data-testid="action-error">
            {problem}
          </p>
        )}
      </form>
      {pending && (
        <ConfirmDialog
          title="Send this event?"
          confirmLabel="Send event"
          busy={busy}
          onConfirm={() => void send(pending)}
          onCancel={() => setPending(null)}
        >
          <p>
            Event <b>{pending.type}</b> to the workflow of job{' '}
            <code>{shortId(jobId)}</code>
            {pending.hasPayload ? ' with payload:' : ', without a payload.'}
          </p>
          {pending.hasPayload && (
            <pre class="json">{JSON.stringify(pending.payload, null, 2)}</pre>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
