// The workflow part of a job page: the statechart with the active states
// lit, the transition history with its stepper, and the event form.
import { useState } from 'preact/hooks';

import { Diagram } from './diagram.js';
import { HistoryList, HistoryStepper } from './history.js';
import { SendEvent } from './send-event.js';
import { StatusBadge } from './status-badge.js';
import type { InstanceDetail } from './types.js';

interface Props {
  jobId: string;
  instance: InstanceDetail;
}

export function WorkflowView({ jobId, instance }: Props) {
  // null follows the live states; an index replays that history entry.
  const [selected, setSelected] = useState<number | null>(null);
  const history = Array.isArray(instance.history) ? instance.history : [];
  const live = Array.isArray(instance.states) ? instance.states : [];
  const index =
    selected === null
      ? history.length - 1
      : Math.min(selected, history.length - 1);
  const shown = selected === null ? live : (history[index]?.states ?? []);

  return (
    <section class="card workflow">
      <h2>
        Workflow <b>{instance.workflow}</b>{' '}
        <span class="muted">v{instance.version}</span>{' '}
        <StatusBadge status={instance.status} testId="instance-status" />
        {selected !== null && (
          <span class="replay-note">replaying step {index + 1}</span>
        )}
      </h2>
      <p class="active-states">
        {selected === null ? 'now in' : 'at this step'}:{' '}
        <span class="mono" data-testid="shown-states">
          {shown.join(', ') || '—'}
        </span>
      </p>
      <div class="workflow-body">
        <Diagram jobId={jobId} active={shown} />
        <aside class="workflow-side">
          <HistoryStepper
            count={history.length}
            selected={selected === null ? null : index}
            onSelect={setSelected}
          />
          <HistoryList
            history={history}
            current={index}
            onSelect={setSelected}
          />
          <SendEvent
            jobId={jobId}
            events={Array.isArray(instance.events) ? instance.events : []}
            running={instance.status === 'active'}
          />
        </aside>
      </div>
    </section>
  );
}
