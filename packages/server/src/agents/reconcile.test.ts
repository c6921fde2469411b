import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentStateReport } from '@strata/core';
import { describeDifference, diffReports } from './reconcile.js';

const at = '2026-01-01T00:00:00.000Z';
const domain = (name: string, state: 'running' | 'shut off' | 'paused') => ({
  name,
  uuid: '',
  state,
  disks: [],
});

test('first report: every domain, frozen guest and block job is new', () => {
  const now: AgentStateReport = {
    at,
    domains: [domain('a', 'running')],
    frozenGuests: [{ vm: 'a', frozenAt: at, deadlineAt: at }],
    blockJobs: [{ vm: 'a', disk: 'vda', type: 'active-commit', cur: 1, end: 2 }],
  };
  assert.deepEqual(
    diffReports(null, now).map((d) => d.kind),
    ['domain-appeared', 'guest-frozen', 'block-job-started'],
  );
});

test('state changes, vanished domains, thaws and finished jobs are each reported once', () => {
  const before: AgentStateReport = {
    at,
    domains: [domain('a', 'running'), domain('b', 'running'), domain('c', 'paused')],
    frozenGuests: [{ vm: 'a', frozenAt: at, deadlineAt: at }],
    blockJobs: [{ vm: 'b', disk: 'vdb', type: 'commit', cur: 0, end: 1 }],
  };
  const now: AgentStateReport = {
    at,
    domains: [domain('a', 'shut off'), domain('c', 'paused')],
    frozenGuests: [],
    blockJobs: [],
  };
  const diffs = diffReports(before, now);
  assert.deepEqual(diffs, [
    { kind: 'domain-state', vm: 'a', was: 'running', now: 'shut off' },
    { kind: 'domain-vanished', vm: 'b', was: 'running' },
    { kind: 'guest-thawed', vm: 'a' },
    { kind: 'block-job-ended', vm: 'b', disk: 'vdb', type: 'commit' },
  ]);
  assert.equal(describeDifference(diffs[0]!), 'domain a running → shut off');
});

test('an unchanged report has no differences', () => {
  const r: AgentStateReport = { at, domains: [domain('x', 'running')], frozenGuests: [], blockJobs: [] };
  assert.deepEqual(diffReports(r, { ...r, at: 'later' }), []);
});
