import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode, ElkShape } from 'elkjs/lib/elk-api.js';

import type { Graph, GraphCluster, GraphEdge, GraphNode } from './graph.js';
import {
  FONT,
  LINE_HEIGHT,
  MIN_NODE_WIDTH,
  PAD,
  START_SIZE,
  textWidth,
} from './diagram-metrics.js';

export interface Point {
  x: number;
  y: number;
}

export interface Box extends Point {
  width: number;
  height: number;
}

/** A node where it is drawn; a parallel node's box holds its regions. */
export type NodeLayout = GraphNode & Box;
export type ClusterLayout = GraphCluster & Box;

export interface EdgeLayout extends GraphEdge {
  /** From the source's border to the target's: the arrow ends last. */
  points: Point[];
  labelBox?: Box;
}

/** Every coordinate is absolute, from the top left of the drawing. */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: NodeLayout[];
  clusters: ClusterLayout[];
  edges: EdgeLayout[];
}

const ROOT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.spacing.nodeNodeBetweenLayers': '40',
  'elk.spacing.nodeNode': '28',
  'elk.spacing.edgeLabel': '4',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.padding': '[top=16,left=16,bottom=16,right=16]',
};

// The bundle is CommonJS and names its constructor `default` as well, the
// one way to reach it that type-checks and runs in Node and in bundles.
const elk = new ELK.default();

/**
 * Places the graph's nodes, regions and edges with ELK's layered layout,
 * which nests regions inside parallel states and routes edges across them.
 * The same graph always gives the same layout.
 */
export async function layoutGraph(graph: Graph): Promise<GraphLayout> {
  const root: ElkNode = {
    id: '',
    layoutOptions: ROOT_OPTIONS,
    children: [],
    edges: [],
  };
  const elkNodes = buildHierarchy(graph, root);
  // An edge's ends share a level; it belongs to the region holding both.
  const parents = new Map(graph.nodes.map((node) => [node.id, node.parent]));
  for (const edge of graph.edges) {
    const container = elkNodes.get(parents.get(edge.from) ?? '') ?? root;
    container.edges?.push(elkEdge(edge));
  }

  const laid = await elk.layout(root);
  const boxes = new Map<string, Box>();
  const edges = new Map<string, ElkExtendedEdge>();
  collect(laid, boxes, edges);

  const { width, height } = shapeBox(laid);
  return {
    width,
    height,
    nodes: graph.nodes.map((node) => ({ ...node, ...boxOf(boxes, node.id) })),
    clusters: graph.clusters.map((c) => ({ ...c, ...boxOf(boxes, c.id) })),
    edges: graph.edges.map((edge) => placeEdge(edge, edges.get(edge.id))),
  };
}

/** ELK nodes nested as the states are: parallel → region → state. */
function buildHierarchy(graph: Graph, root: ElkNode): Map<string, ElkNode> {
  const elkNodes = new Map<string, ElkNode>([['', root]]);
  const childrenOf = (id: string | undefined) => {
    const parent = elkNodes.get(id ?? '');
    if (!parent?.children) throw new Error(`no diagram container ${id}`);
    return parent.children;
  };

  for (const node of graph.nodes) {
    const elkNode = node.kind === 'parallel' ? parallelNode(node) : leaf(node);
    childrenOf(node.parent).push(elkNode);
    elkNodes.set(node.id, elkNode);
    for (const cluster of graph.clusters) {
      if (cluster.parent !== node.id) continue;
      const region = regionNode(cluster);
      childrenOf(node.id).push(region);
      elkNodes.set(cluster.id, region);
    }
  }
  return elkNodes;
}

function leaf(node: GraphNode): ElkNode {
  if (node.kind === 'start') {
    return { id: node.id, width: START_SIZE, height: START_SIZE };
  }
  const text = Math.max(
    textWidth(node.label, FONT.label),
    textWidth(node.detail ?? '', FONT.detail),
  );
  return {
    id: node.id,
    width: Math.max(MIN_NODE_WIDTH, text + 2 * PAD.nodeX),
    height: node.detail === undefined ? 32 : 32 + LINE_HEIGHT,
  };
}

function parallelNode(node: GraphNode): ElkNode {
  const title = [node.label, node.detail].filter((t) => t !== undefined);
  return compound(node.id, textWidth(title.join(' · '), FONT.parallel), {
    top: PAD.parallelTop,
    side: PAD.cluster,
  });
}

function regionNode(cluster: GraphCluster): ElkNode {
  return compound(cluster.id, textWidth(cluster.label, FONT.region), {
    top: PAD.regionTop,
    side: PAD.cluster - 2,
  });
}

/** A box around children, at least wide enough for its title. */
function compound(
  id: string,
  titleWidth: number,
  pad: { top: number; side: number },
): ElkNode {
  const p = pad.side;
  return {
    id,
    children: [],
    edges: [],
    layoutOptions: {
      'elk.padding': `[top=${pad.top},left=${p},bottom=${p},right=${p}]`,
      'elk.nodeSize.constraints': 'MINIMUM_SIZE',
      'elk.nodeSize.minimum': `(${titleWidth + 2 * p}, ${pad.top + p})`,
    },
  };
}

function elkEdge(edge: GraphEdge): ElkExtendedEdge {
  const elkEdge: ElkExtendedEdge = {
    id: edge.id,
    sources: [edge.from],
    targets: [edge.to],
  };
  if (edge.label !== '') {
    const width = textWidth(edge.label, FONT.edge) + 8;
    elkEdge.labels = [{ text: edge.label, width, height: LINE_HEIGHT }];
  }
  return elkEdge;
}

/** Every laid-out shape by id, and every edge, from ELK's answer. */
function collect(
  node: ElkNode,
  boxes: Map<string, Box>,
  edges: Map<string, ElkExtendedEdge>,
): void {
  for (const edge of node.edges ?? []) edges.set(edge.id, edge);
  for (const child of node.children ?? []) {
    boxes.set(child.id, shapeBox(child));
    collect(child, boxes, edges);
  }
}

function boxOf(boxes: Map<string, Box>, id: string): Box {
  const box = boxes.get(id);
  if (!box) throw new Error(`the layout has no place for ${id}`);
  return box;
}

function placeEdge(edge: GraphEdge, laid?: ElkExtendedEdge): EdgeLayout {
  const points: Point[] = [];
  for (const section of laid?.sections ?? []) {
    const bends = section.bendPoints ?? [];
    for (const point of [section.startPoint, ...bends, section.endPoint]) {
      const at = { x: round(point.x), y: round(point.y) };
      const last = points.at(-1);
      if (last?.x !== at.x || last.y !== at.y) points.push(at);
    }
  }

  const placed: EdgeLayout = { ...edge, points };
  const label = laid?.labels?.[0];
  if (label) placed.labelBox = shapeBox(label);
  return placed;
}

/** A shape's place, rounded; ELK sets every coordinate it lays out. */
function shapeBox(shape: ElkShape): Box {
  return {
    x: round(shape.x ?? 0),
    y: round(shape.y ?? 0),
    width: round(shape.width ?? 0),
    height: round(shape.height ?? 0),
  };
}

/** Tenths of a pixel: enough to draw, and stable text. */
function round(value: number): number {
  return Math.round(value * 10) / 10;
}
