import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeOf, treeRows, type TreeNode } from './tree.js';

const node = (id: string, createdAt: string, children: TreeNode[] = [], extra = {}): TreeNode => ({
  id,
  accountId: 'a',
  vmId: 'vm',
  name: id,
  description: '',
  state: 'Ready',
  type: 'Disk',
  parentId: null,
  current: false,
  strategy: 'hypervisor',
  consistency: 'crash',
  freezeMs: 1,
  cutSpreadMs: 0,
  createdAt,
  children,
  ...extra,
});

test('a revert makes a branch: rows are depth-first, oldest child first, the path to the current node marked', () => {
  // s1 ─ s2, then reverted to s1 and s3 taken: s1 has two children.
  const roots = [node('s1', '1', [node('s3', '3'), node('s2', '2')])];
  const rows = treeRows(roots, 's3');
  assert.deepEqual(
    rows.map((r) => [r.node.id, r.depth, r.current, r.ancestorOfCurrent, r.branch]),
    [
      ['s1', 0, false, true, false],
      ['s2', 1, false, false, true],
      ['s3', 1, true, false, true],
    ],
  );
});

test('no current node: nothing is marked', () => {
  const rows = treeRows([node('a', '1', [node('b', '2')])], null);
  assert.equal(
    rows.some((r) => r.current || r.ancestorOfCurrent),
    false,
  );
});

test('a size is shown only when the API gives a number', () => {
  assert.equal(sizeOf(node('a', '1')), null);
  assert.equal(sizeOf(node('a', '1', [], { sizeBytes: null })), null);
  assert.equal(sizeOf(node('a', '1', [], { sizeBytes: 4096 })), 4096);
});
