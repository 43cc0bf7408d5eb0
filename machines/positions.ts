/**
 * Where each part of a definition sits in its file, by path, so that a
 * problem found in the parsed data can be reported at its line.
 */
import { formatPath, type DefinitionPath } from './issues.js';

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface NodePositions {
  /** The key of the map entry holding the node; none for list items. */
  key?: SourcePosition;
  value: SourcePosition;
  /**
   * Point at the key rather than the value: for a map or list, which
   * often starts on the line below its key, and for an empty value.
   */
  preferKey: boolean;
}

const START: SourcePosition = { line: 1, column: 1 };

export class DefinitionPositions {
  readonly #nodes: ReadonlyMap<string, NodePositions>;

  /** `nodes` is keyed by formatPath(path). */
  constructor(nodes: ReadonlyMap<string, NodePositions>) {
    this.#nodes = nodes;
  }

  /**
   * The position of the node at `path`: a scalar's value, or the key of
   * a map or list (what a reader looks for). With `'key'`, the entry's
   * key. A path that does not exist, such as a missing key, gives the
   * position of its nearest ancestor that does.
   */
  at(path: DefinitionPath, part?: 'key'): SourcePosition {
    for (let length = path.length; length >= 0; length--) {
      const node = this.#nodes.get(formatPath(path.slice(0, length)));
      if (node === undefined) continue;

      const preferKey = part === 'key' || node.preferKey;
      if (length < path.length || preferKey) return node.key ?? node.value;
      return node.value;
    }
    return START;
  }

  /** Every recorded path, for tools that list or map them. */
  paths(): string[] {
    return [...this.#nodes.keys()];
  }
}
