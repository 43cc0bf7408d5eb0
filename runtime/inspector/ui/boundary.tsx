// Catches a rendering failure of one page so the header and navigation
// stay usable and the user sees what went wrong instead of a blank page.
import type { ComponentChildren } from 'preact';
import { useErrorBoundary } from 'preact/hooks';

import { ErrorBox } from './error-box.js';

export function PageBoundary({ children }: { children: ComponentChildren }) {
  const [error, reset] = useErrorBoundary();
  if (!error) return <>{children}</>;

  return (
    <main class="page">
      <ErrorBox title="this page failed to render" error={error} />
      <p>
        <button type="button" onClick={reset}>
          try again
        </button>
      </p>
    </main>
  );
}
