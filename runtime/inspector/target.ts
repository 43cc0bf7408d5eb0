import type { Store } from '../drp/types.js';
import type { Engine, EngineRole } from '../engine.js';
import type { Logger } from '../log.js';
import type { EngineIntrospection } from './introspect.js';

/** What the inspector reads and asks of the engine it shows. */
export interface InspectorTarget {
  owner: string;
  role: EngineRole;
  store: Store;
  logger: Logger;
  introspection: EngineIntrospection;
  /** The actions this engine runs: tasklet chains and workflows. */
  actions(): string[];
  cancel(id: string, reason: string): Promise<void>;
  sendEvent(id: string, type: string, payload: unknown): Promise<void>;
}

export function engineTarget(engine: Engine): InspectorTarget {
  return {
    owner: engine.owner,
    role: engine.role,
    store: engine.store,
    logger: engine.logger,
    introspection: engine.introspection,
    actions: () =>
      [
        ...(engine.registry?.actions() ?? []),
        ...engine.workflowActions(),
      ].sort(),
    cancel: (id, reason) => engine.cancel(id, reason),
    sendEvent: (id, type, payload) => engine.sendEvent(id, type, payload),
  };
}
