import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors/strata-error.js';
import { checkCreate, checkStrategyRegistered, checkVmCanSnapshot, MAX_VM_SNAPSHOTS } from './checks.js';

const running = { id: 'vm-1', state: 'Running' as const };
const stopped = { id: 'vm-1', state: 'Stopped' as const };

/** The code a check throws, with its details; 'ok' when it passes. */
function outcome(f: () => void): { code: string; details?: Record<string, unknown> } {
  try {
    f();
    return { code: 'ok' };
  } catch (e) {
    if (!isStrataError(e)) throw e;
    return { code: e.code, details: { ...e.params } };
  }
}

const ready = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, state: 'Ready' }));

void test('a Running or Stopped VM takes a disk snapshot', () => {
  assert.equal(outcome(() => checkCreate({ vm: running, name: 'a', type: 'Disk', existing: [] })).code, 'ok');
  assert.equal(outcome(() => checkCreate({ vm: stopped, name: 'a', type: 'Disk', existing: [] })).code, 'ok');
});

void test('VM_STATE_INVALID: a VM in any other state, with its state and what is expected', () => {
  for (const state of ['Starting', 'Stopping', 'Migrating', 'Error'] as const) {
    const r = outcome(() => checkCreate({ vm: { id: 'v', state }, name: 'a', type: 'Disk', existing: [] }));
    assert.equal(r.code, 'VM_STATE_INVALID', state);
    assert.deepEqual(r.details, {
      vm: 'v',
      state,
      operation: 'a VM snapshot',
      expected: 'Running or Stopped',
    });
  }
});

void test('MEMORY_SNAPSHOT_NEEDS_RUNNING_VM: memory of a stopped VM; a running one is fine', () => {
  const r = outcome(() => checkCreate({ vm: stopped, name: 'a', type: 'DiskAndMemory', existing: [] }));
  assert.deepEqual(r, {
    code: 'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM',
    details: { vm: 'vm-1', state: 'Stopped' },
  });
  assert.equal(outcome(() => checkVmCanSnapshot(running, 'DiskAndMemory')).code, 'ok');
  // the job's plan asks again with the VM as it is then
  assert.equal(
    outcome(() => checkVmCanSnapshot(stopped, 'DiskAndMemory')).code,
    'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM',
  );
});

void test('VM_SNAPSHOT_NAME_TAKEN: a live snapshot holds its name; Removed and Error ones free it', () => {
  for (const state of ['Ready', 'Hidden', 'Creating']) {
    const r = outcome(() =>
      checkCreate({ vm: running, name: 'a', type: 'Disk', existing: [{ name: 'a', state }] }),
    );
    assert.deepEqual(r, { code: 'VM_SNAPSHOT_NAME_TAKEN', details: { vm: 'vm-1', name: 'a' } }, state);
  }
  for (const state of ['Removed', 'Error']) {
    const r = outcome(() =>
      checkCreate({ vm: running, name: 'a', type: 'Disk', existing: [{ name: 'a', state }] }),
    );
    assert.equal(r.code, 'ok', state);
  }
});

void test('VM_SNAPSHOT_LIMIT: 32 live snapshots by default, with count and maximum', () => {
  assert.equal(MAX_VM_SNAPSHOTS, 32);
  const under = ready(MAX_VM_SNAPSHOTS - 1);
  assert.equal(
    outcome(() => checkCreate({ vm: running, name: 'x', type: 'Disk', existing: under })).code,
    'ok',
  );
  const full = ready(MAX_VM_SNAPSHOTS);
  assert.deepEqual(
    outcome(() => checkCreate({ vm: running, name: 'x', type: 'Disk', existing: full })),
    { code: 'VM_SNAPSHOT_LIMIT', details: { vm: 'vm-1', count: 32, max: 32 } },
  );
  const removed = [...under, { name: 'gone', state: 'Removed' }, { name: 'bad', state: 'Error' }];
  assert.equal(
    outcome(() => checkCreate({ vm: running, name: 'x', type: 'Disk', existing: removed })).code,
    'ok',
    'Removed and Error snapshots do not count',
  );
  assert.equal(
    outcome(() => checkCreate({ vm: running, name: 'x', type: 'Disk', existing: ready(2), max: 2 })).code,
    'VM_SNAPSHOT_LIMIT',
  );
});

void test('CONFLICT: another snapshot operation in flight on the VM', () => {
  for (const state of ['Allocated', 'Creating', 'Reverting', 'Expunging']) {
    const r = outcome(() =>
      checkCreate({ vm: running, name: 'x', type: 'Disk', existing: [{ name: 'a', state }] }),
    );
    assert.equal(r.code, 'CONFLICT', state);
  }
});

void test('INVALID_ARGUMENT: a bad name is refused first', () => {
  assert.equal(
    outcome(() => checkCreate({ vm: { id: 'v', state: 'Starting' }, name: '', type: 'Disk', existing: [] }))
      .code,
    'INVALID_ARGUMENT',
  );
});

void test('the first failure wins, in CloudStack order: state, memory, name, limit', () => {
  const existing = [...ready(MAX_VM_SNAPSHOTS - 1), { name: 'dup', state: 'Ready' }];
  const check = (vm: typeof running | typeof stopped, type: 'Disk' | 'DiskAndMemory') =>
    outcome(() => checkCreate({ vm, name: 'dup', type, existing })).code;
  assert.equal(check(stopped, 'DiskAndMemory'), 'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM');
  assert.equal(check(running, 'Disk'), 'VM_SNAPSHOT_NAME_TAKEN');
});

void test('SNAPSHOT_STRATEGY_MISSING: the strategy that took a snapshot is gone; none recorded passes', () => {
  const registered = [{ name: 'hypervisor' }, { name: 'storage' }];
  assert.equal(
    outcome(() => checkStrategyRegistered(registered, { id: 's', strategy: 'storage' })).code,
    'ok',
  );
  assert.equal(
    outcome(() => checkStrategyRegistered(registered, { id: 's', strategy: null })).code,
    'ok',
    'a snapshot recorded before strategies were is not refused',
  );
  assert.deepEqual(
    outcome(() => checkStrategyRegistered(registered, { id: 's', strategy: 'netapp' })),
    {
      code: 'SNAPSHOT_STRATEGY_MISSING',
      details: { snapshot: 's', strategy: 'netapp' },
    },
  );
});
