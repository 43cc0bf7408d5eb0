// The workflow's statechart, fetched once as SVG and inserted inline, with
// the given states highlighted. The SVG is the server's own, drawn from
// the definition with every text escaped, so inserting it is safe.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import { getText } from './api.js';
import { ErrorBox } from './error-box.js';

interface Props {
  jobId: string;
  /** Active leaf state paths, e.g. `checks.web.run`. */
  active: string[];
}

export function Diagram({ jobId, active }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [svg, setSvg] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fit, setFit] = useState(true);

  useEffect(() => {
    const path = `/api/jobs/${encodeURIComponent(jobId)}/diagram.svg`;
    getText(path).then(setSvg, setError);
  }, [jobId]);

  const key = active.join('\n');
  useLayoutEffect(() => {
    if (ref.current && svg) highlight(ref.current, active);
  }, [svg, key]);

  return (
    <div class="diagram-wrap">
      <ErrorBox title="diagram" error={error} />
      {svg === null && !error && <p class="muted">loading diagram…</p>}
      {svg && (
        <button
          type="button"
          class="diagram-zoom"
          aria-pressed={!fit}
          onClick={() => setFit(!fit)}
        >
          {fit ? 'actual size' : 'fit'}
        </button>
      )}
      <div
        ref={ref}
        class={fit ? 'diagram fit' : 'diagram'}
        data-testid="diagram"
        dangerouslySetInnerHTML={{ __html: svg ?? '' }}
      />
    </div>
  );
}

/**
 * Marks a state or region active when its path is an active path or a
 * prefix of one, so a parallel state and its region light up with their
 * leaves.
 */
function highlight(root: Element, active: string[]): void {
  for (const el of root.querySelectorAll('g.state, g.region')) {
    const id = el.getAttribute('data-id') ?? '';
    const on =
      id !== '' && active.some((p) => p === id || p.startsWith(`${id}.`));
    el.classList.toggle('active', on);
  }
}
