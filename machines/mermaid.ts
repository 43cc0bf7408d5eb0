import type { Graph, GraphEdge, GraphNode } from './graph.js';

/**
 * The graph as Mermaid `stateDiagram-v2` text. State ids are derived from
 * state paths and kept to word characters; every name and label is shown
 * through Mermaid's `#code;` escapes wherever it could end a statement or
 * be read as Mermaid syntax.
 */
export function toMermaid(graph: Graph): string {
  const out: Output = {
    graph,
    ids: mermaidIds(graph),
    parents: new Map(graph.nodes.map((node) => [node.id, node.parent])),
    lines: ['stateDiagram-v2'],
  };
  writeScope(out, undefined, 1);
  return `${out.lines.join('\n')}\n`;
}

interface Output {
  graph: Graph;
  ids: Map<string, string>;
  /** Each node's region: an edge is drawn where its source is. */
  parents: Map<string, string | undefined>;
  lines: string[];
}

function writeScope(
  out: Output,
  region: string | undefined,
  depth: number,
): void {
  const indent = '  '.repeat(depth);
  const nodes = out.graph.nodes.filter((node) => node.parent === region);

  for (const node of nodes) {
    if (node.kind === 'start') continue;
    const id = idOf(out, node.id);
    if (node.kind === 'parallel') {
      // A composite state has a title alone: its detail joins the title.
      const title = [node.label, node.detail].filter((t) => t !== undefined);
      out.lines.push(
        `${indent}state "${escapeText(title.join(' · '))}" as ${id}`,
      );
      writeRegions(out, node, depth);
      continue;
    }
    out.lines.push(`${indent}state "${escapeText(node.label)}" as ${id}`);
    if (node.detail !== undefined) {
      out.lines.push(`${indent}${id} : ${escapeText(node.detail)}`);
    }
  }

  for (const edge of out.graph.edges) {
    if (out.parents.get(edge.from) === region) {
      out.lines.push(`${indent}${transition(out, edge)}`);
    }
  }
  for (const node of nodes) {
    if (node.kind === 'final') {
      out.lines.push(`${indent}${idOf(out, node.id)} --> [*]`);
    }
  }
}

/** Regions are composite states split by `--`, Mermaid's concurrency. */
function writeRegions(out: Output, parallel: GraphNode, depth: number) {
  const indent = '  '.repeat(depth);
  const inner = '  '.repeat(depth + 1);
  const regions = out.graph.clusters.filter((c) => c.parent === parallel.id);

  out.lines.push(`${indent}state ${idOf(out, parallel.id)} {`);
  regions.forEach((region, index) => {
    if (index > 0) out.lines.push(`${inner}--`);
    const id = idOf(out, region.id);
    out.lines.push(`${inner}state "${escapeText(region.label)}" as ${id}`);
    out.lines.push(`${inner}state ${id} {`);
    writeScope(out, region.id, depth + 2);
    out.lines.push(`${inner}}`);
  });
  out.lines.push(`${indent}}`);
}

function transition(out: Output, edge: GraphEdge): string {
  const arrow = `${idOf(out, edge.from)} --> ${idOf(out, edge.to)}`;
  return edge.label === '' ? arrow : `${arrow} : ${escapeText(edge.label)}`;
}

function idOf(out: Output, path: string): string {
  const id = out.ids.get(path);
  if (id === undefined) throw new Error(`no Mermaid id for ${path}`);
  return id;
}

// Words Mermaid's lexer takes as keywords at the start of a token.
const KEYWORD = /^(default|state|note|class|scale|hide|acc|direction|root$)/i;

/**
 * A Mermaid id for every node and region: the path in word characters,
 * clear of keywords, unique. Start markers are Mermaid's own `[*]`.
 */
function mermaidIds(graph: Graph): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  const paths: string[] = [];
  for (const node of graph.nodes) {
    if (node.kind === 'start') ids.set(node.id, '[*]');
    else paths.push(node.id);
  }
  paths.push(...graph.clusters.map((cluster) => cluster.id));

  for (const path of paths) {
    let base = path.replace(/[^A-Za-z0-9_]/g, '_') || '_';
    if (KEYWORD.test(base)) base = `_${base}`;
    if (/direction$/i.test(base)) base = `${base}_`;
    let id = base;
    for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
    taken.add(id);
    ids.set(path, id);
  }
  return ids;
}

// Characters that are never Mermaid syntax inside a label. Every other
// ASCII one is escaped: `#`, `;`, `:`, quotes and `%` could end or hide a
// statement, `<` and `&` would be read as HTML.
const PLAIN = /^[\p{L}\p{N} _.,()=!'+*/|?@$^~[\]{}>-]$/u;

/** A label with each risky character as a `#code;` entity. */
export function escapeText(text: string): string {
  let escaped = '';
  for (const char of text.replace(/\s+/g, ' ')) {
    const code = char.codePointAt(0) ?? 0;
    // Past ASCII and its control block, nothing is Mermaid syntax.
    escaped += PLAIN.test(char) || code > 0x9f ? char : `#${code};`;
  }
  // Mermaid reads `direction TB` anywhere on a line as a layout statement,
  // and `[[choice]]` (or fork, join) in a state's name as its type.
  return escaped
    .replace(/(directio)(n)/gi, (_, word: string, n: string) => {
      return `${word}#${n.codePointAt(0)};`;
    })
    .replace(/\[\[/g, '#91;[');
}
