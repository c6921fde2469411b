import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, readLimits } from './settings.js';

void test('each limit comes from its flag, else its variable, else the default', () => {
  assert.deepEqual(readLimits({}, {}), DEFAULT_LIMITS);
  const l = readLimits(
    { 'rate-limit': '10', 'job-waits': '0' },
    { STRATA_RATE_LIMIT: '99', STRATA_JOB_WAITS_PER_USER: '3' },
  );
  assert.equal(l.requestsPerMinute, 10);
  assert.equal(l.jobWaits, 0);
  assert.equal(l.jobWaitsPerUser, 3);
  assert.equal(l.anonymousPerMinute, DEFAULT_LIMITS.anonymousPerMinute);
});

void test('a limit that is not a whole number refuses the start, naming the flag', () => {
  for (const bad of ['-1', '1.5', 'many', '1e3', ' '])
    assert.throws(() => readLimits({ 'rate-limit-anonymous': bad }, {}), { code: 'INVALID_ARGUMENT' }, bad);
});
