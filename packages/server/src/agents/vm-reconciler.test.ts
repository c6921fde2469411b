import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentStateReport, DomainRunState, VmState } from '@strata/core';
import { planVmReconcile } from './vm-reconciler.js';

const report = (domains: Array<[string, DomainRunState]>): AgentStateReport => ({
  at: '',
  domains: domains.map(([name, state]) => ({ name, uuid: '', state, disks: [] })),
  frozenGuests: [],
  blockJobs: [],
});
const vm = (id: string, state: VmState) => ({ id, state });

test('Running VMs whose domain stopped, crashed or vanished are corrected', () => {
  const plan = planVmReconcile(
    [vm('a', 'Running'), vm('b', 'Running'), vm('c', 'Running'), vm('d', 'Running')],
    report([
      ['a', 'shut off'],
      ['b', 'crashed'],
      ['d', 'running'],
    ]),
  );
  assert.deepEqual(
    plan.map((c) => [c.vmId, c.event]),
    [
      ['a', 'Stopped'],
      ['b', 'Fail'],
      ['c', 'Fail'],
    ],
  );
});

test('Error VMs follow their domain; Stopped-but-running is reported only; jobs in flight are left alone', () => {
  const plan = planVmReconcile(
    [vm('e1', 'Error'), vm('e2', 'Error'), vm('s', 'Stopped'), vm('st', 'Starting'), vm('sp', 'Stopping')],
    report([
      ['e1', 'running'],
      ['e2', 'shut off'],
      ['s', 'paused'],
      ['st', 'shut off'],
      ['sp', 'running'],
    ]),
  );
  assert.deepEqual(
    plan.map((c) => [c.vmId, c.event]),
    [
      ['e1', 'Started'],
      ['e2', 'Stopped'],
      ['s', null],
    ],
  );
});

test('a Migrating VM is left to its job: its domain missing from the source is no failure', () => {
  // the source reconnects after the guest moved (or before it arrives): only the job knows where it runs
  const plan = planVmReconcile([vm('m1', 'Migrating'), vm('m2', 'Migrating')], report([['m2', 'shut off']]));
  assert.deepEqual(plan, []);
});
