import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { WaitGate } from './wait-gate.js';

const refused = (what: RegExp) => (e: unknown) =>
  isStrataError(e, 'RATE_LIMITED') &&
  what.test(String(e.params['what'])) &&
  e.params['retryAfterSeconds'] === 1;

void test('per-caller and server-wide caps; a place given back is free again', () => {
  const gate = new WaitGate(3, 2);
  const a1 = gate.enter('alice');
  gate.enter('alice');
  assert.throws(() => gate.enter('alice'), refused(/for this user/));
  gate.enter('bob');
  assert.throws(() => gate.enter('carol'), refused(/on this server/));
  a1();
  a1(); // twice gives back one place, not two
  assert.equal(gate.open, 2);
  gate.enter('carol');
  assert.throws(() => gate.enter('dave'), refused(/on this server/));
});

void test('0 means no cap', () => {
  const gate = new WaitGate(0, 0);
  for (let i = 0; i < 10_000; i++) gate.enter('alice');
  assert.equal(gate.open, 10_000);
});
