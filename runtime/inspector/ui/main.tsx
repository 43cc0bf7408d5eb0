// The inspector page: one overview stream for the whole page, and the
// page the hash names.
import { render } from 'preact';

import { PageBoundary } from './boundary.js';
import { Header } from './header.js';
import { JobPage } from './job-page.js';
import { JobsPage } from './jobs-page.js';
import {
  createOverviewSource,
  OverviewContext,
  type OverviewSource,
} from './overview-source.js';
import { jobsHash, useRoute, type Route } from './router.js';
import { SystemPage } from './system-page.js';

function App({ source }: { source: OverviewSource }) {
  const route = useRoute();

  return (
    <OverviewContext.Provider value={source}>
      <Header route={route} />
      <PageBoundary key={location.hash}>
        <Page route={route} />
      </PageBoundary>
    </OverviewContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'system':
      return <SystemPage />;
    case 'jobs':
      return <JobsPage key={jobsHash(route.filters)} filters={route.filters} />;
    case 'job':
      return <JobPage key={route.id} id={route.id} />;
    case 'unknown':
      return (
        <main class="page">
          <div class="error-box" role="alert">
            no page at <code>{route.hash}</code>: go to <a href="#/">System</a>{' '}
            or <a href="#/jobs">Jobs</a>
          </div>
        </main>
      );
  }
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App source={createOverviewSource()} />, root);
}
