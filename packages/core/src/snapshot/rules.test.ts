import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consistencyOf, resolveQuiesce } from './quiesce.js';
import { ancestry, buildTree, renderTree, reparentOnDelete } from './tree.js';

test('auto quiesce uses the guest agent when it answers, else pause; a stopped VM needs none', () => {
  assert.equal(resolveQuiesce('auto', { state: 'Running', guestAgent: true }), 'guest');
  assert.equal(resolveQuiesce('auto', { state: 'Running', guestAgent: false }), 'pause');
  assert.equal(resolveQuiesce('guest', { state: 'Stopped', guestAgent: true }), 'none');
  assert.equal(resolveQuiesce('hypervisor', { state: 'Running', guestAgent: true }), 'hypervisor');
  assert.equal(consistencyOf('guest', { state: 'Running', guestAgent: true }), 'filesystem');
  assert.equal(consistencyOf('pause', { state: 'Running', guestAgent: true }), 'crash');
  assert.equal(consistencyOf('none', { state: 'Stopped', guestAgent: false }), 'filesystem');
});

test('the tree: build, ancestry, delete re-parents children, render marks current', () => {
  const nodes = [
    { id: 'a', parentId: null },
    { id: 'b', parentId: 'a' },
    { id: 'c', parentId: 'b' },
    { id: 'd', parentId: 'b' },
  ];
  const roots = buildTree(nodes);
  assert.equal(roots.length, 1);
  assert.deepEqual(ancestry(nodes, 'd'), ['d', 'b', 'a']);
  assert.deepEqual(reparentOnDelete(nodes, 'b'), [
    { id: 'c', parentId: 'a' },
    { id: 'd', parentId: 'a' },
  ]);
  assert.deepEqual(
    renderTree(roots, (n) => n.id, 'c'),
    ['a', '└─ b', '   ├─ c <- current', '   └─ d'],
  );
});
