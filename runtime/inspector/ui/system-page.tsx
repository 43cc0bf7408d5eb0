// The system page: job counters, metric charts, agents and the actor tree,
// all from the overview stream.
import { ActorTree } from './actor-tree.js';
import { AgentsTable } from './agents.js';
import { AreaChart, LinesChart } from './charts.js';
import { ErrorBox } from './error-box.js';
import { formatTime } from './format.js';
import { useOverview } from './overview-source.js';

export function SystemPage() {
  const { overview, error, conn } = useOverview();

  if (!overview) {
    return (
      <main class="page">
        <ErrorBox title="overview unavailable" error={error} />
        {!error && <p class="muted">waiting for the first overview…</p>}
      </main>
    );
  }

  const now = overview.engine?.now ?? Date.now();
  const jobs = overview.jobs;
  const metrics = overview.metrics;
  return (
    <main class="page system">
      <ErrorBox title="stream" error={error} />
      {conn !== 'live' && (
        <p class="stale-note" role="status">
          the live stream is down ({conn}); showing the engine as it was at{' '}
          {formatTime(overview.engine?.now)}
        </p>
      )}
      <section class="counters">
        <Counter label="running jobs" value={jobs?.running} testId="running" />
        <Counter label="started" value={jobs?.started} testId="started" />
        <Counter label="finished" value={jobs?.finished} testId="finished" />
      </section>
      <section class="charts">
        <AreaChart
          chart="jobs"
          title="jobs finished / s"
          unit="/s"
          values={metrics?.jobsPerSec}
          intervalMs={metrics?.intervalMs}
        />
        <AreaChart
          chart="loop"
          title="event-loop delay p99"
          unit="ms"
          values={metrics?.loopDelayMs}
          intervalMs={metrics?.intervalMs}
        />
        <LinesChart
          chart="mailboxes"
          title="mailbox depths"
          series={metrics?.mailboxes}
          intervalMs={metrics?.intervalMs}
        />
      </section>
      <section class="card">
        <h2>Agents</h2>
        <AgentsTable agents={overview.agents} now={now} />
      </section>
      <section class="card">
        <h2>Actors</h2>
        <ActorTree root={overview.actors} now={now} />
      </section>
    </main>
  );
}

interface CounterProps {
  label: string;
  value: number | undefined;
  testId: string;
}

function Counter({ label, value, testId }: CounterProps) {
  return (
    <div class="counter card">
      <span class="counter-value" data-testid={`jobs-${testId}`}>
        {typeof value === 'number' ? value : '—'}
      </span>
      <span class="counter-label">{label}</span>
    </div>
  );
}
