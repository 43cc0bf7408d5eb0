/**
 * Reads a definition file as YAML (JSON is YAML too) into plain data and
 * the position of every node. Only plain data is accepted: no anchors,
 * aliases or tags, no duplicate keys, keys that are strings.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
  type ParsedNode,
} from 'yaml';

import { formatPath, type PathSegment } from './issues.js';
import {
  DefinitionPositions,
  type NodePositions,
  type SourcePosition,
} from './positions.js';

export interface SourceIssue {
  position: SourcePosition;
  path: readonly PathSegment[];
  message: string;
}

export interface YamlSource {
  /** Undefined when there are issues. */
  data: unknown;
  positions: DefinitionPositions;
  issues: SourceIssue[];
}

export function readYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below, where their path is known.
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: false,
  });
  const positionOf = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const issues: SourceIssue[] = [...doc.errors, ...doc.warnings].map(
    (error) => ({
      position: positionOf(error.pos[0]),
      path: [],
      message: `invalid YAML: ${lowerFirst(firstLine(error.message))}`,
    }),
  );

  const nodes = new Map<string, NodePositions>();
  const visit = (
    node: Node | null,
    path: PathSegment[],
    key?: SourcePosition,
  ): void => {
    if (node === null || !node.range) return;

    const value = positionOf(node.range[0]);
    const collection = isMap(node) || isSeq(node);
    const empty = node.range[0] === node.range[1];
    nodes.set(formatPath(path), { key, value, preferKey: collection || empty });

    // A map or list starts on the line below its key; the key is where
    // its anchor or tag is written.
    const at = collection ? (key ?? value) : value;
    const refuse = (message: string) =>
      issues.push({ position: at, path, message });
    if (isAlias(node)) refuse(`aliases (*${node.source}) are not supported`);
    if (node.anchor) refuse(`anchors (&${node.anchor}) are not supported`);
    if (node.tag) refuse(`tags (${shortTag(node.tag)}) are not supported`);

    if (isSeq(node)) {
      node.items.forEach((item, index) =>
        visit(item as Node | null, [...path, index]),
      );
    }
    if (isMap(node)) visitEntries(node.items, path);
  };

  const visitEntries = (
    pairs: { key: unknown; value: unknown }[],
    path: PathSegment[],
  ): void => {
    const seen = new Map<string, SourcePosition>();
    for (const pair of pairs) {
      const keyNode = pair.key as ParsedNode | null;
      const keyPosition = keyNode?.range
        ? positionOf(keyNode.range[0])
        : positionOf(0);
      const key = keyText(keyNode);
      if (key === null) {
        issues.push({
          position: keyPosition,
          path,
          message: 'a key must be a plain string; quote it',
        });
        continue;
      }

      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({
          position: keyPosition,
          path: [...path, key],
          message: `duplicate key '${key}' (first at line ${first.line})`,
        });
      }
      seen.set(key, keyPosition);
      visit(pair.value as Node | null, [...path, key], keyPosition);
    }
  };

  visit(doc.contents, []);
  const data = issues.length === 0 ? doc.toJS() : undefined;
  return { data, positions: new DefinitionPositions(nodes), issues };
}

// Only string scalars are keys: YAML would also allow `1:`, `true:`
// (`on:` under YAML 1.1) or a whole map, none of which JSON can hold.
function keyText(node: ParsedNode | null): string | null {
  if (node === null || !isScalar(node) || node.tag || node.anchor) return null;
  return typeof node.value === 'string' ? node.value : null;
}

// As written: `!!str` rather than `tag:yaml.org,2002:str`.
function shortTag(tag: string): string {
  return tag.replace(/^tag:yaml\.org,2002:/, '!!');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
