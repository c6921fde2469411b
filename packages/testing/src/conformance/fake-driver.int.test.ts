import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StrataError } from '@strata/core';
import { FakeStorageDriver } from './fake-driver.js';
import { runDriverConformance } from './suite.js';

// The fake keeps real raw files so the suite's QEMU data checks run on it too (hence .int).
runDriverConformance('fake', () =>
  Promise.resolve(new FakeStorageDriver('fake-cf', { capacityIops: 10_000 })),
);

void test('the fake records calls and fails the next call of a method when told to', async () => {
  const d = new FakeStorageDriver('fake-inject');
  const ctx = { signal: new AbortController().signal };
  d.failNext(
    'createVolume',
    new StrataError('STORAGE_BACKEND_FAILED', { backend: 'fake', operation: 'create', reason: 'told to' }),
  );
  await assert.rejects(d.createVolume(ctx, { volumeId: 'v1', sizeBytes: 1 << 20 }), {
    code: 'STORAGE_BACKEND_FAILED',
  });
  assert.equal((await d.createVolume(ctx, { volumeId: 'v1', sizeBytes: 1 << 20 })).created, true);
  assert.deepEqual(
    d.calls.map((c) => c.method),
    ['createVolume', 'createVolume'],
  );
  await d.deleteVolume(ctx, { volumeId: 'v1' });
  await d.close();
});
