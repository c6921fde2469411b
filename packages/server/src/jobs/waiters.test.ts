import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobState } from '@strata/core';
import type { Job } from './types.js';
import { JobWaiters } from './waiters.js';

function job(state: JobState): Job {
  const now = new Date().toISOString();
  return {
    ...{ id: 'j1', type: 't', accountId: 'a', state, input: null, result: null, error: null },
    ...{ lockKey: null, resourceType: null, resourceId: null, progressPct: 0, progressMessage: '' },
    ...{ owner: null, epoch: 0, createdAt: now, startedAt: null, finishedAt: null, updatedAt: now },
    cancelRequestedAt: null,
  };
}

/** Answers the given states in turn (the last one for ever) and counts the reads. */
function reads(...states: JobState[]) {
  let n = 0;
  return {
    read: () => Promise.resolve(job(states[Math.min(n++, states.length - 1)] ?? 'Queued')),
    count: () => n,
  };
}

void test('a wake ends the sleep at once and the job is read again', async () => {
  const w = new JobWaiters(60_000);
  const r = reads('Running', 'Succeeded');
  const waiting = w.wait('j1', 30_000, r.read);
  await new Promise((resolve) => setTimeout(resolve, 20));
  w.wake('j2'); // another job's finish reads nothing
  assert.equal(r.count(), 1);
  const t0 = Date.now();
  w.wake('j1');
  assert.equal((await waiting).state, 'Succeeded');
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(r.count(), 2);
});

void test('a finish during a read is not missed: it reads again instead of sleeping', async () => {
  const w = new JobWaiters(60_000);
  let n = 0;
  const read = () => {
    n++;
    if (n === 1) w.wake('j1'); // the job ends while its first read is under way
    return Promise.resolve(job(n === 1 ? 'Running' : 'Succeeded'));
  };
  const t0 = Date.now();
  assert.equal((await w.wait('j1', 30_000, read)).state, 'Succeeded');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

void test('without a wake it polls at its pace (a job another server runs), and answers at the deadline', async () => {
  const w = new JobWaiters(30);
  const r = reads('Running', 'Running', 'Failed');
  assert.equal((await w.wait('j1', 10_000, r.read)).state, 'Failed');
  assert.equal(r.count(), 3);
  const still = reads('Running');
  const t0 = Date.now();
  assert.equal((await w.wait('j1', 100, still.read)).state, 'Running');
  assert.ok(Date.now() - t0 >= 90);
  // about four at that pace, and the deadline's; a loaded machine's late timers may bunch one more
  // (a busy loop would read hundreds of times)
  assert.ok(still.count() <= 7, `${still.count()} reads in 100 ms at a 30 ms pace`);
});
