import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriverRegistry } from './registry.js';
import type { StorageDriver } from './driver.js';

function fake(type: string, name: string): StorageDriver {
  return { type, name } as unknown as StorageDriver;
}

void test('registry rejects empty names with INVALID_ARGUMENT', () => {
  const r = new DriverRegistry();
  assert.throws(() => r.register(fake('tgt', '')), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => r.register(fake('tgt', '  ')), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => r.register(fake('', 'p1')), { code: 'INVALID_ARGUMENT' });
});

void test('registry rejects duplicate names with ALREADY_EXISTS', () => {
  const r = new DriverRegistry();
  r.register(fake('tgt', 'p1'));
  assert.throws(() => r.register(fake('rbd', 'p1')), { code: 'ALREADY_EXISTS' });
});

void test('registry selects by name and by type', () => {
  const r = new DriverRegistry();
  const a = r.register(fake('tgt', 'a'));
  const b = r.register(fake('rbd', 'b'));
  const c = r.register(fake('tgt', 'c'));
  assert.equal(r.get('b'), b);
  assert.deepEqual(r.byType('tgt'), [a, c]);
  assert.throws(() => r.get('nope'), { code: 'STORAGE_DRIVER_NOT_FOUND' });
  assert.equal(r.unregister('a'), true);
  assert.deepEqual(r.byType('tgt'), [c]);
});
