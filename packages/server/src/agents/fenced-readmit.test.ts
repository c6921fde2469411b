import assert from 'node:assert/strict';
import { test } from 'node:test';
import { staleDomains } from './fenced-readmit.js';

const report = (...names: string[]) => ({
  domains: names.map((name) => ({ name, state: 'running' as const })),
});

test('on a fenced host, a domain of a VM that now runs elsewhere is stale; unknown domains are not ours', () => {
  const vms = [
    { id: 'vm-moved', hostId: 'host-b', state: 'Running' },
    { id: 'vm-stopped', hostId: 'host-a', state: 'Stopped' },
  ];
  assert.deepEqual(staleDomains('host-a', report('vm-moved', 'not "ours" <x>', 'vm-stopped'), vms), [
    'vm-moved',
    'vm-stopped',
  ]);
});

test('a VM placed on the host itself (Starting, Running, Stopping) keeps its domain', () => {
  const vms = [{ id: 'vm-here', hostId: 'host-a', state: 'Running' }];
  assert.deepEqual(staleDomains('host-a', report('vm-here'), vms), []);
});
