import type { Answer } from './api/client.js';

export type VmSnapshot = Answer<'/v1/vm-snapshots/{id}'>;

/**
 * A node of GET /v1/vms/{id}/snapshot-tree. The route declares its nodes as free JSON; they are
 * the API's VM snapshot with its children, and `sizeBytes` where the backends can report one.
 */
export type TreeNode = VmSnapshot & {
  readonly children: readonly TreeNode[];
  readonly sizeBytes?: number | null;
};

export interface TreeRow {
  readonly node: TreeNode;
  readonly depth: number;
  /** The VM runs on this snapshot now ("you are here"). */
  readonly current: boolean;
  /** On the path from a root to the current node. */
  readonly ancestorOfCurrent: boolean;
  /** This node's parent has more than one child: a branch made by a revert. */
  readonly branch: boolean;
}

/** The tree as rows in depth-first order, children oldest first, with where the VM is marked. */
export function treeRows(roots: readonly TreeNode[], currentId: string | null): TreeRow[] {
  const onPath = new Set<string>();
  const find = (n: TreeNode, path: string[]): boolean => {
    if (n.id === currentId) {
      for (const id of path) onPath.add(id);
      return true;
    }
    return n.children.some((c) => find(c, [...path, n.id]));
  };
  for (const r of roots) if (find(r, [])) break;
  const rows: TreeRow[] = [];
  const walk = (n: TreeNode, depth: number, siblings: number) => {
    rows.push({
      node: n,
      depth,
      current: n.id === currentId,
      ancestorOfCurrent: onPath.has(n.id),
      branch: siblings > 1,
    });
    const kids = [...n.children].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const c of kids) walk(c, depth + 1, kids.length);
  };
  for (const r of roots) walk(r, 0, roots.length);
  return rows;
}

/** What a node's size reads as: the backends' figure, or that they cannot tell. */
export function sizeOf(n: TreeNode): number | null {
  return typeof n.sizeBytes === 'number' ? n.sizeBytes : null;
}
