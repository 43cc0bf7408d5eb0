// The transition history of a workflow instance and a stepper to replay
// it: stepping back shows an older entry on the diagram; "live" follows
// the instance again.
import { useLayoutEffect, useRef } from 'preact/hooks';

import { formatClock, formatTime } from './format.js';
import type { HistoryEntry } from './types.js';

interface StepperProps {
  count: number;
  /** The entry shown: an index, or null to follow the live states. */
  selected: number | null;
  onSelect: (index: number | null) => void;
}

export function HistoryStepper({ count, selected, onSelect }: StepperProps) {
  const index = selected ?? count - 1;
  const live = selected === null;
  const step = (by: number) =>
    onSelect(Math.max(0, Math.min(count - 1, index + by)));

  return (
    <div class="stepper">
      <button
        type="button"
        data-testid="history-prev"
        disabled={count === 0 || index <= 0}
        onClick={() => step(-1)}
        aria-label="previous step"
      >
        ◀
      </button>
      <input
        type="range"
        data-testid="history-step"
        min={0}
        max={Math.max(0, count - 1)}
        value={Math.max(0, index)}
        disabled={count === 0}
        aria-label="history step"
        onInput={(e) => onSelect(Number(e.currentTarget.value))}
        onChange={(e) => onSelect(Number(e.currentTarget.value))}
      />
      <button
        type="button"
        data-testid="history-next"
        disabled={count === 0 || index >= count - 1}
        onClick={() => step(1)}
        aria-label="next step"
      >
        ▶
      </button>
      <button
        type="button"
        data-testid="history-live"
        class={live ? 'live-on' : ''}
        aria-pressed={live}
        onClick={() => onSelect(null)}
      >
        ● live
      </button>
      <span class="muted step-label">
        {count === 0 ? 'no history' : `${index + 1} / ${count}`}
      </span>
    </div>
  );
}

interface ListProps {
  history: HistoryEntry[];
  current: number;
  onSelect: (index: number) => void;
}

export function HistoryList({ history, current, onSelect }: ListProps) {
  const ref = useRef<HTMLOListElement>(null);

  // Keep the marked entry in view inside the list, not the whole page.
  useLayoutEffect(() => {
    const list = ref.current;
    const item = list?.querySelector<HTMLElement>('[aria-current="step"]');
    if (!list || !item) return;
    const top = item.offsetTop - list.offsetTop;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + item.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = top + item.offsetHeight - list.clientHeight;
    }
  }, [current, history.length]);

  if (history.length === 0) {
    return (
      <ol ref={ref} class="history" data-testid="history">
        <li class="muted">no transitions yet</li>
      </ol>
    );
  }

  return (
    <ol ref={ref} class="history" data-testid="history">
      {history.map((entry, i) => (
        <li
          key={i}
          data-history-index={i}
          aria-current={i === current ? 'step' : undefined}
          onClick={() => onSelect(i)}
        >
          <span class="mono muted" title={formatTime(entry?.at)}>
            {formatClock(entry?.at)}
          </span>
          <span class="history-states">
            {(entry?.states ?? []).join(', ') || '—'}
          </span>
        </li>
      ))}
    </ol>
  );
}
