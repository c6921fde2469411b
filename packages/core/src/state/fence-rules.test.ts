import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFencing, type StartFencingFacts } from './fence-rules.js';
import { hostMachine } from './machines.js';

const S = 1000;
const base: StartFencingFacts = {
  vmState: 'Running',
  host: { id: `host "a" <x>`, state: 'Disconnected', lastSeenMs: 100 * S },
  nowMs: 300 * S,
  serverStartedMs: 0,
  graceMs: 90 * S,
};
const facts = (
  over: Partial<StartFencingFacts>,
  host: Partial<NonNullable<StartFencingFacts['host']>> = {},
) => ({
  ...base,
  ...over,
  host: over.host === null ? null : { ...base.host!, ...host },
});

test('a VM on a host gone past the grace: fence that host first, at once', () => {
  const d = startFencing(base);
  assert.deepEqual(
    [d.action, d.action === 'fence' && d.hostId, d.action === 'fence' && d.waitMs],
    ['fence', `host "a" <x>`, 0],
  );
});

test('a Stopped VM whose host is Disconnected is fenced first too: never start elsewhere before', () => {
  assert.equal(startFencing(facts({ vmState: 'Stopped' })).action, 'fence');
  assert.equal(startFencing(facts({ vmState: 'Error' })).action, 'fence');
});

test('a host only just gone is waited for until the grace has passed', () => {
  const d = startFencing(facts({ nowMs: 130 * S }));
  assert.ok(d.action === 'fence');
  assert.equal(d.waitMs, 60 * S);
});

test('silence from before this server started is no evidence: the grace counts from its start', () => {
  const d = startFencing(facts({ serverStartedMs: 290 * S }));
  assert.ok(d.action === 'fence');
  assert.equal(d.waitMs, 80 * S);
});

test('a fence that did not finish (Fencing) is done again', () => {
  assert.equal(startFencing(facts({}, { state: 'Fencing' })).action, 'fence');
});

test('a Fenced host: a Stopped VM starts elsewhere; a VM still marked alive there is fenced again', () => {
  assert.equal(startFencing(facts({ vmState: 'Stopped' }, { state: 'Fenced' })).action, 'none');
  const again = startFencing(facts({ vmState: 'Error' }, { state: 'Fenced' }));
  assert.ok(again.action === 'fence');
  assert.equal(again.waitMs, 0);
});

test('reachable hosts need no fence; a VM running on one is refused as before', () => {
  for (const state of ['Up', 'Maintenance', 'PreparingMaintenance'] as const) {
    assert.equal(startFencing(facts({ vmState: 'Stopped' }, { state })).action, 'none', state);
    assert.equal(startFencing(facts({ vmState: 'Running' }, { state })).action, 'refuse', state);
  }
  assert.equal(startFencing(facts({ vmState: 'Stopped', host: null })).action, 'none');
  assert.equal(startFencing(facts({ vmState: 'Running', host: null })).action, 'refuse');
  assert.equal(startFencing(facts({ vmState: 'Starting' })).action, 'refuse');
  assert.equal(startFencing(facts({ vmState: 'Migrating' })).action, 'refuse');
});

test('host machine: only a lost host is fenced; coming back it stays Fenced until readmitted', () => {
  assert.equal(hostMachine.can('Up', 'Fence'), false);
  assert.equal(hostMachine.next('Disconnected', 'Fence'), 'Fencing');
  assert.equal(hostMachine.next('Fencing', 'Connected'), 'Fencing');
  assert.equal(hostMachine.next('Fencing', 'Fenced'), 'Fenced');
  assert.equal(hostMachine.next('Fenced', 'Connected'), 'Fenced');
  assert.equal(hostMachine.next('Fenced', 'Readmit'), 'Up');
  assert.equal(hostMachine.next('Fenced', 'Fence'), 'Fencing');
});
