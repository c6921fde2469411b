/** A node of a VM's snapshot tree: enough to walk it. */
export interface TreeNode {
  readonly id: string;
  readonly parentId: string | null;
}

export interface TreeView<N extends TreeNode> {
  readonly node: N;
  readonly children: TreeView<N>[];
}

/** Builds the forest of a VM's snapshots, oldest first; a node whose parent is gone becomes a root. */
export function buildTree<N extends TreeNode>(nodes: readonly N[]): TreeView<N>[] {
  const views = new Map(nodes.map((n) => [n.id, { node: n, children: [] as TreeView<N>[] }]));
  const roots: TreeView<N>[] = [];
  for (const n of nodes) {
    const view = views.get(n.id)!;
    const parent = n.parentId === null ? undefined : views.get(n.parentId);
    (parent ? parent.children : roots).push(view);
  }
  return roots;
}

/** Ids from `id` up to its root, `id` first. */
export function ancestry(nodes: readonly TreeNode[], id: string): string[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const path: string[] = [];
  for (
    let cur = byId.get(id);
    cur && !path.includes(cur.id);
    cur = cur.parentId ? byId.get(cur.parentId) : undefined
  ) {
    path.push(cur.id);
  }
  return path;
}

/**
 * What deleting a node does to the tree: its children are re-parented to its parent, so no other
 * node is broken and every newer snapshot stays reachable.
 */
export function reparentOnDelete(
  nodes: readonly TreeNode[],
  id: string,
): Array<{ id: string; parentId: string | null }> {
  const gone = nodes.find((n) => n.id === id);
  if (!gone) return [];
  return nodes.filter((n) => n.parentId === id).map((n) => ({ id: n.id, parentId: gone.parentId }));
}

/** Renders a tree as indented lines, marking the current node; used by the CLI and the demo. */
export function renderTree<N extends TreeNode>(
  roots: readonly TreeView<N>[],
  label: (n: N) => string,
  currentId: string | null,
): string[] {
  const lines: string[] = [];
  const walk = (v: TreeView<N>, prefix: string, last: boolean, top: boolean) => {
    const mark = v.node.id === currentId ? ' <- current' : '';
    lines.push(`${top ? '' : prefix + (last ? '└─ ' : '├─ ')}${label(v.node)}${mark}`);
    const next = top ? '' : prefix + (last ? '   ' : '│  ');
    v.children.forEach((c, i) => walk(c, next, i === v.children.length - 1, false));
  };
  roots.forEach((r) => walk(r, '', true, true));
  return lines;
}
