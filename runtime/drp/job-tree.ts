/** Links of a job to its parent, as every store keeps them. */
interface TreeNode {
  id: string;
  parentId: string | null;
}

/**
 * Pre-order walk from `id` over the jobs of one tree: each job comes
 * before everything below it, siblings in the order given.
 */
export function walkTree<T extends TreeNode>(id: string, nodes: T[]): T[] {
  const children = new Map<string, T[]>();
  let start: T | undefined;
  for (const node of nodes) {
    if (node.id === id) start = node;
    if (node.parentId === null) continue;
    const siblings = children.get(node.parentId);
    if (siblings) siblings.push(node);
    else children.set(node.parentId, [node]);
  }
  if (!start) return [];

  const ordered: T[] = [];
  const seen = new Set<string>();
  const stack = [start];
  for (let node = stack.pop(); node; node = stack.pop()) {
    // A broken parent link could form a cycle; never loop on one.
    if (seen.has(node.id)) continue;
    seen.add(node.id);
    ordered.push(node);
    const below = children.get(node.id) ?? [];
    for (let i = below.length - 1; i >= 0; i--) stack.push(below[i] as T);
  }
  return ordered;
}
