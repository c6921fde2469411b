import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventLine } from './parse-event.js';

void test('lifecycle lines parse with timestamp, event and detail', () => {
  const e = parseEventLine(
    "2026-11-21 11:40:01.123+0000: event 'lifecycle' for domain 'web-1': Started Booted",
  );
  assert.deepEqual(e && { ...e, at: e.at.toISOString() }, {
    kind: 'lifecycle',
    at: '2026-11-21T11:40:01.123Z',
    vm: 'web-1',
    event: 'Started',
    detail: 'Booted',
  });
});

void test('a domain name full of quotes and shell metacharacters survives', () => {
  const name = `a'b"c<d>&e $(x);|`;
  const e = parseEventLine(`event 'lifecycle' for domain '${name}': Stopped Destroyed`);
  assert.equal(e?.vm, name);
  assert.equal(e?.kind, 'lifecycle');
});

void test('block-job-2 lines give the target, job type and status', () => {
  const e = parseEventLine(
    "2026-11-21 11:40:01.5+0000: event 'block-job-2' for domain 'vm': Active Block Commit for vdb ready",
  );
  assert.equal(e?.kind, 'block-job');
  if (e?.kind !== 'block-job') return;
  assert.equal(e.disk, 'vdb');
  assert.equal(e.byTarget, true);
  assert.equal(e.jobType, 'active-commit');
  assert.equal(e.status, 'ready');
  const pull = parseEventLine("event 'block-job' for domain 'vm': Block Pull for /var/x y.qcow2 completed");
  assert.equal(pull?.kind === 'block-job' && pull.jobType, 'pull');
  assert.equal(pull?.kind === 'block-job' && pull.disk, '/var/x y.qcow2');
});

void test('agent-lifecycle and unknown events parse; other lines do not', () => {
  const a = parseEventLine(
    "event 'agent-lifecycle' for domain 'vm': state: 'connected' reason: 'channel event'",
  );
  assert.equal(a?.kind === 'agent-lifecycle' && a.state, 'connected');
  const o = parseEventLine("event 'reboot' for domain 'vm': ");
  assert.equal(o?.kind, 'other');
  assert.equal(parseEventLine('events received: 3'), undefined);
});
