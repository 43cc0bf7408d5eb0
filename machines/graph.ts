import { WfeError } from '../runtime/errors.js';
import type {
  GuardedTransition,
  StateDefinition,
  WaitState,
  WorkflowDefinition,
} from './definition.js';

/**
 * A workflow as a diagram: plain data that renderers (Mermaid, SVG, a
 * browser inspector) draw. Every state is a node whose id is its path
 * (`provision.web.start`); a parallel node is drawn as the box around its
 * regions, which are the clusters. Each level (the top, each region) has
 * a start marker node with an edge to its initial state. An edge's ends
 * are always in the same level: a region's transitions stay inside it,
 * and a parallel state's own next and onError leave from its box.
 */
export interface Graph {
  name: string;
  version: number;
  nodes: GraphNode[];
  clusters: GraphCluster[];
  edges: GraphEdge[];
}

export type NodeKind =
  'start' | 'task' | 'parallel' | 'wait' | 'choice' | 'final';

export interface GraphNode {
  /** The state's path; a start marker's is `[*]` after its level's. */
  id: string;
  /** The state's own name. */
  label: string;
  kind: NodeKind;
  /** What the state does, in a few words: an action, a delay, events. */
  detail?: string;
  /** The region holding the node; absent at the top level. */
  parent?: string;
}

/** A region of a parallel state. */
export interface GraphCluster {
  /** The parallel state's path + the region's name: `provision.web`. */
  id: string;
  label: string;
  /** The parallel node it belongs to. */
  parent: string;
}

export interface GraphEdge {
  /** `e1`, `e2`, … in definition order. */
  id: string;
  from: string;
  to: string;
  /** Empty for a start marker's edge. */
  label: string;
}

/** Guards and other expressions longer than this are cut short. */
const GUARD_CHARS = 32;

const START = '[*]';

export function workflowGraph(definition: WorkflowDefinition): Graph {
  const graph: Graph = {
    name: definition.name,
    version: definition.version,
    nodes: [],
    clusters: [],
    edges: [],
  };
  addLevel(graph, '', definition);
  return graph;
}

/**
 * Adds the states of the top level (path `''`) or of one region. Every
 * transition names a state of the same level, as the checker demands.
 */
function addLevel(graph: Graph, path: string, level: Level): void {
  const prefix = path === '' ? '' : `${path}.`;
  const place = (node: GraphNode): GraphNode =>
    path === '' ? node : { ...node, parent: path };
  const target = (name: string, where: string): string => {
    if (Object.hasOwn(level.states, name)) return `${prefix}${name}`;
    throw new WfeError(
      'WORKFLOW_INVALID',
      `${prefix}${where}: no state '${name}' at this level`,
    );
  };

  const start = `${prefix}${START}`;
  graph.nodes.push(place({ id: start, label: '', kind: 'start' }));
  addEdge(graph, start, target(level.initial, 'initial'), '');

  for (const [name, state] of Object.entries(level.states)) {
    const id = `${prefix}${name}`;
    const node: GraphNode = { id, label: name, kind: kindOf(state) };
    const detail = detailOf(state);
    if (detail !== undefined) node.detail = detail;
    graph.nodes.push(place(node));

    if ('parallel' in state) {
      for (const [regionName, region] of Object.entries(state.parallel)) {
        const regionPath = `${id}.${regionName}`;
        graph.clusters.push({ id: regionPath, label: regionName, parent: id });
        addLevel(graph, regionPath, region);
      }
    }
    for (const [label, next] of transitionsOf(state)) {
      addEdge(graph, id, target(next, name), label);
    }
  }
}

interface Level {
  initial: string;
  states: Record<string, StateDefinition>;
}

function addEdge(graph: Graph, from: string, to: string, label: string) {
  const id = `e${graph.edges.length + 1}`;
  graph.edges.push({ id, from, to, label });
}

function kindOf(state: StateDefinition): NodeKind {
  if ('final' in state) return 'final';
  if ('choose' in state) return 'choice';
  if ('parallel' in state) return 'parallel';
  if (isWait(state)) return 'wait';
  return 'task';
}

function isWait(state: StateDefinition): state is WaitState {
  return 'on' in state || 'delayMs' in state;
}

function detailOf(state: StateDefinition): string | undefined {
  if ('final' in state) {
    return state.error ? `error: ${state.error.code}` : undefined;
  }
  if ('choose' in state) return undefined;
  if ('parallel' in state) return state.wait === 'any' ? 'wait any' : undefined;
  if (isWait(state)) return waitDetail(state);
  if (state.action !== undefined) return state.action;
  if (state.rscript) return `rscript ${state.rscript.script}`;
  if (state.workflow !== undefined) return `workflow ${state.workflow}`;
  return undefined;
}

function waitDetail(state: WaitState): string {
  const parts: string[] = [];
  if (state.delayMs !== undefined) parts.push(`wait ${delay(state.delayMs)}`);
  if (state.on) parts.push(`on ${Object.keys(state.on).join(', ')}`);
  if (state.timeoutMs !== undefined) {
    parts.push(`timeout ${duration(state.timeoutMs)}`);
  }
  return parts.join(' · ');
}

/** Each way out of a state as [label, target name], in definition order. */
function transitionsOf(state: StateDefinition): [string, string][] {
  if ('final' in state) return [];
  if ('choose' in state) {
    return state.choose.map((choice) => [
      choice.if === undefined ? 'otherwise' : `choose: ${shorten(choice.if)}`,
      choice.next,
    ]);
  }

  const out: [string, string][] = [];
  const wait = isWait(state) ? state : undefined;
  for (const [event, targets] of Object.entries(wait?.on ?? {})) {
    out.push(...eventTransitions(event, targets));
  }
  if (state.next !== undefined) {
    const label =
      wait?.delayMs === undefined ? 'done' : `after ${delay(wait.delayMs)}`;
    out.push([label, state.next]);
  }
  if (wait?.onTimeout !== undefined) out.push(['timeout', wait.onTimeout]);
  for (const [code, target] of Object.entries(state.onError ?? {})) {
    out.push([`error: ${code}`, target]);
  }
  return out;
}

function eventTransitions(
  event: string,
  targets: string | GuardedTransition[],
): [string, string][] {
  if (typeof targets === 'string') return [[event, targets]];
  return targets.map((choice) => [
    choice.if === undefined ? event : `${event} if ${shorten(choice.if)}`,
    choice.next,
  ]);
}

/** One line, cut short by characters (never inside a surrogate pair). */
function shorten(expression: string): string {
  const chars = [...expression.replace(/\s+/g, ' ').trim()];
  return chars.length <= GUARD_CHARS
    ? chars.join('')
    : `${chars.slice(0, GUARD_CHARS - 1).join('')}…`;
}

function delay(value: number | string): string {
  return typeof value === 'number' ? duration(value) : shorten(value);
}

/** `250ms`, `5s`, `1.5s`, `10m`, `2h`. */
export function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
