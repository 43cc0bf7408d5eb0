import { createHash } from 'node:crypto';

import type {
  StateDefinition,
  WorkflowDefinition,
} from '../../machines/definition.js';
import { workflowGraph } from '../../machines/graph.js';
import { toSvg } from '../../machines/svg.js';
import type { Store } from '../drp/types.js';
import {
  INSTANCE_TYPE,
  instanceView,
  type InstanceRecord,
} from '../workflows/snapshots.js';
import type { InstanceDetail } from './wire.js';

/** The workflow instance a job runs, or null when it runs none. */
export async function readInstance(
  store: Store,
  jobId: string,
): Promise<InstanceRecord | null> {
  const object = await store.getObject(jobId);
  if (!object || object.type !== INSTANCE_TYPE) return null;
  return object.data as unknown as InstanceRecord;
}

export function instanceDetail(record: InstanceRecord): InstanceDetail {
  const view = instanceView(record);
  const events = new Set<string>();
  if (view.status === 'active') {
    for (const path of view.states) {
      const state = stateAt(record.definition, path);
      if (state && 'on' in state && state.on) {
        for (const name of Object.keys(state.on)) events.add(name);
      }
    }
  }
  return { ...view, events: [...events].sort() };
}

/** The state at a path like `checks.web.run` (state, region, state…). */
function stateAt(
  definition: WorkflowDefinition,
  path: string,
): StateDefinition | undefined {
  const names = path.split('.');
  let states = definition.states;
  let state: StateDefinition | undefined;

  for (let at = 0; at < names.length; at += 2) {
    state = states[names[at]!];
    const region = names[at + 1];
    if (region === undefined) return state;
    if (!state || !('parallel' in state)) return undefined;
    const next = state.parallel[region];
    if (!next) return undefined;
    states = next.states;
  }
  return state;
}

const DIAGRAMS_KEPT = 50;

/**
 * Draws each definition once: instances of one version share its
 * diagram, and layout takes tens of milliseconds.
 */
export class DiagramCache {
  readonly #diagrams = new Map<string, Promise<string>>();

  svg(definition: WorkflowDefinition): Promise<string> {
    const key = createHash('sha1')
      .update(JSON.stringify(definition))
      .digest('hex');
    let diagram = this.#diagrams.get(key);
    if (!diagram) {
      diagram = toSvg(workflowGraph(definition));
      diagram.catch(() => this.#diagrams.delete(key));
      this.#diagrams.set(key, diagram);
      if (this.#diagrams.size > DIAGRAMS_KEPT) {
        this.#diagrams.delete(this.#diagrams.keys().next().value!);
      }
    }
    return diagram;
  }
}
