import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors/strata-error.js';
import { allMachines, vmSnapshotMachine, jobMachine } from './machines.js';

test('every transition of every machine leads to a known state', () => {
  for (const m of allMachines) {
    for (const { from, to } of m.transitions()) {
      assert.ok((m.states as readonly string[]).includes(to), `${m.name}: ${from} -> ${to}`);
    }
  }
});

test('every state not terminal has a way out, and terminal states have none', () => {
  const terminal = new Set(['Destroyed', 'Deleted', 'Removed', 'Succeeded', 'Failed']);
  for (const m of allMachines) {
    for (const s of m.states) {
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
