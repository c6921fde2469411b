import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError, isStrataError } from '@strata/core';
import { LoginThrottle } from './login-throttle.js';

const bad = () => Promise.reject(new StrataError('AUTH_BAD_CREDENTIALS'));
const good = () => Promise.resolve('session');

function limitedFor(seconds: number) {
  return (e: unknown) => isStrataError(e, 'RATE_LIMITED') && e.params['retryAfterSeconds'] === seconds;
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

void test('after the free failures each try waits twice as long, up to the cap; a refused try runs no check', async () => {
  const c = clock();
  const throttle = new LoginThrottle({ freeFailures: 2, firstDelayMs: 1000, maxDelayMs: 4000, now: c.now });
  let checks = 0;
  const counted = () => {
    checks++;
    return bad();
  };
  await assert.rejects(throttle.attempt('alice', counted), { code: 'AUTH_BAD_CREDENTIALS' });
  await assert.rejects(throttle.attempt('alice', counted), { code: 'AUTH_BAD_CREDENTIALS' });
  assert.equal(throttle.waitSeconds('alice'), 0, 'two failures are free');
  for (const delay of [1, 2, 4, 4]) {
    await assert.rejects(throttle.attempt('alice', counted), { code: 'AUTH_BAD_CREDENTIALS' });
    await assert.rejects(throttle.attempt('alice', counted), limitedFor(delay));
    c.advance(delay * 1000);
  }
  assert.equal(checks, 6, 'only the tries let through ran a password check');
});

void test('a success forgets the failures; other names are never slowed', async () => {
  const c = clock();
  const throttle = new LoginThrottle({ freeFailures: 0, firstDelayMs: 5000, now: c.now });
  await assert.rejects(throttle.attempt('alice', bad), { code: 'AUTH_BAD_CREDENTIALS' });
  await assert.rejects(throttle.attempt('alice', good), limitedFor(5));
  assert.equal(await throttle.attempt('bob', good), 'session');
  c.advance(5000);
  assert.equal(await throttle.attempt('alice', good), 'session');
  await assert.rejects(throttle.attempt('alice', bad), { code: 'AUTH_BAD_CREDENTIALS' });
  await assert.rejects(throttle.attempt('alice', good), limitedFor(5), 'counting started over at one');
});

void test('one check per name at a time, and a cap on checks of all names together', async () => {
  const throttle = new LoginThrottle({ maxChecks: 2 });
  let release = () => {};
  const slow = () => new Promise<string>((resolve) => (release = () => resolve('session')));
  const first = throttle.attempt('alice', slow);
  await assert.rejects(throttle.attempt('alice', good), limitedFor(1));
  const second = throttle.attempt('bob', () => new Promise<string>((r) => setTimeout(() => r('b'), 10)));
  await assert.rejects(throttle.attempt('carol', good), limitedFor(1));
  release();
  assert.equal(await first, 'session');
  assert.equal(await second, 'b');
  assert.equal(await throttle.attempt('carol', good), 'session');
});

void test('errors other than bad credentials do not count as failures', async () => {
  const throttle = new LoginThrottle({ freeFailures: 0 });
  const down = () => Promise.reject(new StrataError('UNAVAILABLE', { what: 'db', reason: 'x' }));
  await assert.rejects(throttle.attempt('alice', down), { code: 'UNAVAILABLE' });
  assert.equal(throttle.waitSeconds('alice'), 0);
});

void test('failures are forgotten after a quiet period and the oldest names go first past the cap', async () => {
  const c = clock();
  const throttle = new LoginThrottle({ freeFailures: 0, forgetAfterMs: 60_000, maxNames: 2, now: c.now });
  await assert.rejects(throttle.attempt('a', bad));
  await assert.rejects(throttle.attempt('b', bad));
  await assert.rejects(throttle.attempt('c', bad));
  assert.equal(throttle.waitSeconds('a'), 0, 'the oldest name was dropped');
  assert.equal(throttle.waitSeconds('c'), 1);
  c.advance(60_000);
  assert.equal(await throttle.attempt('c', good), 'session');
  assert.equal(throttle.waitSeconds('b'), 0);
});
