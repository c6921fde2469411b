import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consistency, ResolvedQuiesce } from '@strata/core';
import { cutConsistency } from './consistency.js';

// The label a cut records, for every mode; the real cuts behind each label are checked write by
// write after their revert in the demo package's torture test (torture-labels.ts).

const running = (quiesce: ResolvedQuiesce, guestAgent = true, parts: Consistency[] = []) =>
  cutConsistency({ vmRunning: true, guestAgent, type: 'Disk', quiesce, parts });

test('each mode of a running VM records what its cut is: crash without a freeze, filesystem with one', () => {
  assert.equal(running('none'), 'crash', 'one atomic overlay, no hold: what a power cut leaves');
  assert.equal(running('pause'), 'crash', 'a pause stops the vCPUs, it flushes nothing');
  assert.equal(running('guest'), 'filesystem');
  assert.equal(running('hypervisor'), 'filesystem', "libvirt's --quiesce through the guest agent");
  assert.equal(running('hypervisor', false), 'crash', 'no agent to freeze through');
});

test('a memory snapshot of a running VM is crash on its disks whatever was asked; a stopped VM is at rest', () => {
  for (const quiesce of ['guest', 'hypervisor', 'pause', 'none'] as const)
    assert.equal(
      cutConsistency({ vmRunning: true, guestAgent: true, type: 'DiskAndMemory', quiesce, parts: [] }),
      'crash',
      quiesce,
    );
  assert.equal(
    cutConsistency({ vmRunning: false, guestAgent: false, type: 'Disk', quiesce: 'none', parts: [] }),
    'filesystem',
  );
});

test('a part a driver reports weaker lowers the whole; a stronger one never raises it', () => {
  assert.equal(running('guest', true, ['filesystem', 'crash']), 'crash');
  assert.equal(running('none', true, ['application']), 'crash');
  assert.equal(running('guest', true, ['application', 'filesystem']), 'filesystem');
});

test("a stopped VM's disks hold what its last stop left: crash after a forced stop, filesystem after a clean one", () => {
  const stopped = (atRest?: Consistency | null) =>
    cutConsistency({
      vmRunning: false,
      guestAgent: false,
      type: 'Disk',
      quiesce: 'none',
      parts: [],
      ...(atRest !== undefined && { atRest }),
    });
  assert.equal(stopped('crash'), 'crash', 'forced stop, host lost, or found down');
  assert.equal(stopped('filesystem'), 'filesystem', 'clean guest shutdown');
  assert.equal(stopped(null), 'filesystem', 'never ran: the disks are as made');
  assert.equal(stopped('application'), 'filesystem', 'never more than the cut itself claims');
  assert.equal(
    cutConsistency({
      vmRunning: true,
      guestAgent: true,
      type: 'Disk',
      quiesce: 'guest',
      parts: [],
      atRest: 'crash',
    }),
    'filesystem',
    'a running VM is labelled by its cut, not by an earlier stop',
  );
});
