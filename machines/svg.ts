import type { Graph, NodeKind } from './graph.js';
import { FONT, FONT_FAMILY, LINE_HEIGHT, PAD } from './diagram-metrics.js';
import {
  layoutGraph,
  type Box,
  type ClusterLayout,
  type EdgeLayout,
  type GraphLayout,
  type NodeLayout,
} from './layout.js';

export { layoutGraph } from './layout.js';

/**
 * The graph as a standalone SVG document: no scripts, no external assets,
 * every style inline. Each state's group carries `data-id` (its path) and
 * `data-kind` so that a viewer can find and highlight it.
 */
export async function toSvg(graph: Graph): Promise<string> {
  return drawSvg(graph, await layoutGraph(graph));
}

/** Draws a layout already made, e.g. one an inspector also highlights. */
export function drawSvg(graph: Graph, layout: GraphLayout): string {
  const size = `width="${n(layout.width)}" height="${n(layout.height)}"`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" ${size} ` +
      `viewBox="0 0 ${n(layout.width)} ${n(layout.height)}" ` +
      `font-family="${xml(FONT_FAMILY)}" role="img">`,
    `<title>${xml(`${graph.name} v${graph.version}`)}</title>`,
    ARROW,
    `<rect ${size} style="fill:#ffffff"/>`,
  ];

  // Containers first, outer before inner, so that what they hold is on top.
  for (const node of layout.nodes) {
    if (node.kind !== 'parallel') continue;
    parts.push(parallelBox(node));
    for (const cluster of layout.clusters) {
      if (cluster.parent === node.id) parts.push(regionBox(cluster));
    }
  }
  for (const edge of layout.edges) parts.push(edgePath(edge));
  for (const node of layout.nodes) {
    if (node.kind !== 'parallel') parts.push(stateBox(node));
  }

  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const ARROW =
  '<defs><marker id="wfe-arrow" viewBox="0 0 10 10" refX="10" refY="5" ' +
  'markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
  '<path d="M0,0 L10,5 L0,10 z" style="fill:#555555"/></marker></defs>';

const INK = '#1f2328';
const MUTED = '#57606a';

/** Fill and border of each kind of state; a failing final is red. */
const BOX_COLOURS: Record<NodeKind | 'failed', [string, string]> = {
  start: ['#333333', '#333333'],
  task: ['#e8f0fe', '#4a6fa5'],
  parallel: ['#f6f8fa', '#6e7781'],
  wait: ['#fff4e0', '#b7832a'],
  choice: ['#f3e8fd', '#8a5cb8'],
  final: ['#e6f4ea', '#3c8c50'],
  failed: ['#fdecea', '#b3413a'],
};

function stateBox(node: NodeLayout): string {
  const open = group(node);
  if (node.kind === 'start') {
    const r = node.width / 2;
    const centre = `cx="${n(node.x + r)}" cy="${n(node.y + r)}"`;
    return `${open}<circle ${centre} r="${n(r)}" style="fill:#333333"/></g>`;
  }

  const failed = node.kind === 'final' && node.detail?.startsWith('error');
  const [fill, stroke] = BOX_COLOURS[failed ? 'failed' : node.kind];
  const radius = node.kind === 'wait' ? node.height / 2 : 6;
  const shapes = [
    rect(node, radius, `fill:${fill};stroke:${stroke};stroke-width:1.5`),
  ];
  // A final state has a double border.
  if (node.kind === 'final') {
    shapes.push(rect(inset(node, 3), radius - 3, `fill:none;stroke:${stroke}`));
  }

  // Baselines: one line centred, or two lines LINE_HEIGHT apart.
  const cx = node.x + node.width / 2;
  const y = node.y + (node.detail === undefined ? node.height / 2 + 4.5 : 20);
  const label = `font-size:${FONT.label}px;font-weight:600;fill:${INK}`;
  shapes.push(text(cx, y, node.label, label, 'middle'));
  if (node.detail !== undefined) {
    const detail = `font-size:${FONT.detail}px;fill:${MUTED}`;
    shapes.push(text(cx, y + LINE_HEIGHT, node.detail, detail, 'middle'));
  }
  return `${open}${shapes.join('')}</g>`;
}

function parallelBox(node: NodeLayout): string {
  const [fill, stroke] = BOX_COLOURS.parallel;
  const title = [node.label, node.detail].filter((t) => t !== undefined);
  const style = `font-size:${FONT.parallel}px;font-weight:600;fill:${INK}`;
  return (
    group(node) +
    rect(node, 8, `fill:${fill};stroke:${stroke};stroke-width:1.5`) +
    text(node.x + PAD.cluster, node.y + 19, title.join(' · '), style) +
    '</g>'
  );
}

function regionBox(cluster: ClusterLayout): string {
  const border = 'fill:#ffffff;stroke:#8c959f;stroke-dasharray:4 3';
  const style = `font-size:${FONT.region}px;font-style:italic;fill:${MUTED}`;
  const x = cluster.x + PAD.cluster - 2;
  return (
    `<g class="region" data-id="${xml(cluster.id)}">` +
    rect(cluster, 6, border) +
    text(x, cluster.y + 16, cluster.label, style) +
    '</g>'
  );
}

function edgePath(edge: EdgeLayout): string {
  const d = edge.points
    .map((point, i) => `${i === 0 ? 'M' : 'L'}${n(point.x)},${n(point.y)}`)
    .join(' ');
  const ends = `data-from="${xml(edge.from)}" data-to="${xml(edge.to)}"`;
  const parts = [
    `<g class="edge" data-id="${xml(edge.id)}" ${ends}>`,
    `<path d="${d}" marker-end="url(#wfe-arrow)" ` +
      'style="fill:none;stroke:#555555;stroke-width:1.3"/>',
  ];

  const box = edge.labelBox;
  if (box) {
    const style = `font-size:${FONT.edge}px;fill:${INK}`;
    const x = box.x + box.width / 2;
    parts.push(
      rect(box, 3, 'fill:#ffffff;fill-opacity:0.85'),
      text(x, box.y + 12, edge.label, style, 'middle'),
    );
  }
  parts.push('</g>');
  return parts.join('');
}

function group(node: NodeLayout): string {
  return (
    `<g class="state" data-id="${xml(node.id)}" data-kind="${node.kind}">` +
    `<title>${xml(node.id)}</title>`
  );
}

function rect(box: Box, radius: number, style: string): string {
  return (
    `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" ` +
    `height="${n(box.height)}" rx="${n(radius)}" style="${style}"/>`
  );
}

function text(
  x: number,
  y: number,
  content: string,
  style: string,
  anchor: 'start' | 'middle' = 'start',
): string {
  const at = `x="${n(x)}" y="${n(y)}" text-anchor="${anchor}"`;
  return `<text ${at} style="${style}">${xml(content)}</text>`;
}

function inset(box: Box, by: number): Box {
  return {
    x: box.x + by,
    y: box.y + by,
    width: box.width - 2 * by,
    height: box.height - 2 * by,
  };
}

/** A coordinate in tenths, printed the same way every time. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * Text and attribute values with XML's special characters escaped, and
 * the characters XML 1.0 cannot hold at all (most controls, lone
 * surrogates) replaced by U+FFFD.
 */
export function xml(value: string): string {
  let clean = '';
  for (const char of value) {
    clean += xmlCanHold(char) ? char : '\ufffd';
  }
  return clean
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function xmlCanHold(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20) return code === 0x09 || code === 0x0a || code === 0x0d;
  if (code >= 0xd800 && code <= 0xdfff) return false;
  return code !== 0xfffe && code !== 0xffff;
}
