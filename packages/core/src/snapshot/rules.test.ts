import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors/strata-error.js';
import { checkCreate } from './checks.js';
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

test('create checks: state, memory, unique live name, per-VM maximum', () => {
  const vm = { id: 'vm-1', state: 'Running' as const };
  const codeOf = (f: () => void) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return isStrataError(e) ? e.code : 'not coded';
    }
  };
  assert.equal(
    codeOf(() => checkCreate({ vm, name: 's1', type: 'Disk', existing: [] })),
    'ok',
  );
  assert.equal(
    codeOf(() => checkCreate({ vm: { id: 'v', state: 'Starting' }, name: 's', type: 'Disk', existing: [] })),
    'VM_STATE_INVALID',
  );
  assert.equal(
    codeOf(() =>
      checkCreate({ vm: { id: 'v', state: 'Stopped' }, name: 's', type: 'DiskAndMemory', existing: [] }),
    ),
    'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM',
  );
  assert.equal(
    codeOf(() => checkCreate({ vm, name: 's1', type: 'Disk', existing: [{ name: 's1', state: 'Ready' }] })),
    'VM_SNAPSHOT_NAME_TAKEN',
  );
  assert.equal(
    codeOf(() => checkCreate({ vm, name: 's1', type: 'Disk', existing: [{ name: 's1', state: 'Removed' }] })),
    'ok',
    'a removed snapshot frees its name',
  );
  const two = [
    { name: 'a', state: 'Ready' },
    { name: 'b', state: 'Ready' },
  ];
  assert.equal(
    codeOf(() => checkCreate({ vm, name: 'c', type: 'Disk', existing: two, max: 2 })),
    'VM_SNAPSHOT_LIMIT',
  );
  assert.equal(
    codeOf(() => checkCreate({ vm, name: '', type: 'Disk', existing: [] })),
    'INVALID_ARGUMENT',
  );
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
