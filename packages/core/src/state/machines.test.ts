import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors/strata-error.js';
import { allMachines, vmMachine, vmSnapshotMachine, jobMachine, volumeSnapshotMachine } from './machines.js';

test('every transition of every machine leads to a known state', () => {
  for (const m of allMachines) {
    for (const { from, to } of m.transitions()) {
      assert.ok((m.states as readonly string[]).includes(to), `${m.name}: ${from} -> ${to}`);
    }
  }
});

test('every state not terminal has a way out, and terminal states have none', () => {
  const terminal = new Set(['Destroyed', 'Expunged', 'Deleted', 'Removed', 'Succeeded', 'Failed']);
  for (const m of allMachines) {
    for (const s of m.states) {
      // a destroyed VM is recoverable until it is expunged
      if (m === vmMachine && s === 'Destroyed') continue;
      const out = m.transitions().filter((t) => t.from === s);
      if (terminal.has(s)) assert.equal(out.length, 0, `${m.name}.${s} is terminal`);
      else assert.ok(out.length > 0, `${m.name}.${s} has no way out`);
    }
  }
});

test('VM snapshot follows CloudStack: create, succeed, revert, expunge', () => {
  let s = vmSnapshotMachine.next('Allocated', 'CreateRequested');
  assert.equal(s, 'Creating');
  s = vmSnapshotMachine.next(s, 'OperationSucceeded');
  assert.equal(s, 'Ready');
  s = vmSnapshotMachine.next(s, 'RevertRequested');
  assert.equal(vmSnapshotMachine.next(s, 'OperationFailed'), 'Ready');
  assert.equal(vmSnapshotMachine.next('Ready', 'ExpungeRequested'), 'Expunging');
  assert.equal(vmSnapshotMachine.next('Expunging', 'OperationSucceeded'), 'Removed');
});

test('a VM is destroyed, recovered or expunged; an expunge asked again stays Expunging', () => {
  assert.equal(vmMachine.next('Stopped', 'Destroy'), 'Destroyed');
  assert.equal(vmMachine.next('Destroyed', 'Recover'), 'Stopped');
  assert.equal(vmMachine.next('Destroyed', 'Expunge'), 'Expunging');
  assert.equal(vmMachine.next('Expunging', 'Expunge'), 'Expunging');
  assert.equal(vmMachine.next('Expunging', 'Expunged'), 'Expunged');
  assert.equal(vmMachine.can('Expunging', 'Recover'), false);
  assert.equal(vmMachine.can('Running', 'Destroy'), false);
});

test('an illegal transition is a coded error naming machine, state and event', () => {
  assert.throws(
    () => vmSnapshotMachine.next('Removed', 'RevertRequested'),
    (e: unknown) =>
      isStrataError(e, 'ILLEGAL_TRANSITION') &&
      e.status === 409 &&
      e.message === 'vm-snapshot cannot take event RevertRequested in state Removed',
  );
  assert.equal(jobMachine.can('Succeeded', 'Claim'), false);
  assert.equal(jobMachine.can('Queued', 'Claim'), true);
});

test('a failed snapshot delete restores the state the snapshot had', () => {
  assert.equal(volumeSnapshotMachine.next('Deleting', 'Fail'), 'Ready');
  assert.equal(volumeSnapshotMachine.next('Deleting', 'Broken'), 'Error');
  assert.equal(vmSnapshotMachine.next('Expunging', 'OperationFailed'), 'Ready');
  assert.equal(vmSnapshotMachine.next('Expunging', 'Hide'), 'Hidden');
  assert.equal(vmSnapshotMachine.next('Expunging', 'Broken'), 'Error');
});
