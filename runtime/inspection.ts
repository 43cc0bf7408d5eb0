import type { InspectionEvent, Observer } from 'xstate';

/**
 * Where the engine's actors report their inspection events (XState's
 * `inspect` option), when something asked to watch them. Left out, the
 * actors run without the cost of reporting.
 */
export type Inspect =
  Observer<InspectionEvent> | ((event: InspectionEvent) => void);
