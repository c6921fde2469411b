import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors/strata-error.js';
import { cantHandle, type Priority } from './priority.js';
import type { VmSnapshotRequest } from './request.js';
import { explainSelection, selectStrategy, type StrategyCandidate } from './select.js';

const request = (over: Partial<VmSnapshotRequest> = {}): VmSnapshotRequest => ({
  operation: 'take',
  vm: { id: 'vm-1', state: 'Running', guestAgent: true },
  disks: [],
  type: 'Disk',
  quiesce: 'auto',
  ...over,
});

const fixed = (name: string, priority: Priority, reason = `${name} says ${priority}`): StrategyCandidate => ({
  name,
  canHandle: () => ({ priority, reason }),
});

test('the highest priority wins and every answer is explained', () => {
  const s = explainSelection(
    [fixed('hyp', 'HYPERVISOR'), fixed('plug', 'PLUGIN'), fixed('def', 'DEFAULT')],
    request(),
  );
  assert.equal(s.chosen, 'plug');
  assert.deepEqual(
    s.explanation.map((e) => [e.strategy, e.priority, e.chosen]),
    [
      ['def', 'DEFAULT', false],
      ['hyp', 'HYPERVISOR', false],
      ['plug', 'PLUGIN', true],
    ],
  );
});

test('ties are broken by name, whatever the registration order', () => {
  const a = explainSelection([fixed('zeta', 'PLUGIN'), fixed('alpha', 'PLUGIN')], request());
  const b = explainSelection([fixed('alpha', 'PLUGIN'), fixed('zeta', 'PLUGIN')], request());
  assert.equal(a.chosen, 'alpha');
  assert.equal(b.chosen, 'alpha');
});

test('CANT_HANDLE never wins; when all refuse, the error carries every reason', () => {
  const none = [
    { name: 'storage', canHandle: () => cantHandle('disk vdb on tgt has no VM-snapshot hook') },
    { name: 'hypervisor', canHandle: () => cantHandle('vdb is a network disk') },
  ];
  assert.equal(explainSelection(none, request()).chosen, null);
  assert.throws(
    () => selectStrategy(none, request()),
    (e: unknown) =>
      isStrataError(e, 'NO_SNAPSHOT_STRATEGY') &&
      e.message.includes('hypervisor: vdb is a network disk') &&
      e.message.includes('storage: disk vdb on tgt has no VM-snapshot hook'),
  );
});

test('revert and delete go only to the strategy that took the snapshot', () => {
  const cands = [fixed('hypervisor', 'HYPERVISOR'), fixed('storage', 'HIGHEST')];
  const s = explainSelection(
    cands,
    request({ operation: 'revert', takenBy: 'hypervisor', snapshotId: 's1' }),
  );
  assert.equal(s.chosen, 'hypervisor');
  assert.equal(
    s.explanation.find((e) => e.strategy === 'storage')?.reason,
    'snapshot was taken by hypervisor',
  );
  assert.throws(
    () => selectStrategy(cands, request({ operation: 'delete', takenBy: 'gone', snapshotId: 's1' })),
    (e: unknown) => isStrataError(e, 'SNAPSHOT_STRATEGY_MISSING') && e.message.includes('s1'),
  );
});
