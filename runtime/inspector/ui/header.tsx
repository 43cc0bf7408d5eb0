// The page header: which engine this is, whether the live stream is up,
// and the navigation.
import type { ConnState } from './event-stream.js';
import { useOverview } from './overview-source.js';
import type { Route } from './router.js';

const CONN_TEXT: Record<ConnState, string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  closed: 'disconnected',
};

export function Header({ route }: { route: Route }) {
  const { overview, conn } = useOverview();
  const engine = overview?.engine;
  const store = engine?.store;
  const onJobs = route.page === 'jobs' || route.page === 'job';

  return (
    <header class="top">
      <span class="brand">wfe inspector</span>
      <nav>
        <a
          href="#/"
          aria-current={route.page === 'system' ? 'page' : undefined}
        >
          System
        </a>
        <a href="#/jobs" aria-current={onJobs ? 'page' : undefined}>
          Jobs
        </a>
      </nav>
      <span class="engine">
        {engine?.owner ? (
          <>
            <span title="owner">{engine.owner}</span>
            <span class="sep">·</span>
            <span title="role">{engine.role}</span>
            <span class="sep">·</span>
            <span title={store?.location ?? ''}>
              {store?.kind ?? '?'}
              {store?.location ? ` ${store.location}` : ''}
            </span>
            {engine.version && <span class="muted"> v{engine.version}</span>}
          </>
        ) : (
          <span class="muted">engine unknown</span>
        )}
      </span>
      <span
        class={`conn conn-${conn}`}
        data-testid="conn"
        title="overview stream"
      >
        {CONN_TEXT[conn] ?? conn}
      </span>
    </header>
  );
}
