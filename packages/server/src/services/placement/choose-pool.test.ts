import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '@strata/core';
import { choosePool, type PoolLoad } from './choose-pool.js';

// Pure choice over pool loads; the same path runs against real pools in cloudstack-ansible.int.
const GiB = 1024 ** 3;
const pool = (id: string, o: Partial<PoolLoad> = {}): PoolLoad => ({
  id,
  name: `pool ${id}`,
  state: 'Up',
  zoneId: 'z1',
  capacityBytes: 100 * GiB,
  usedBytes: 0,
  capacityIops: 0,
  usedMinIops: 0,
  ...o,
});

void test('without IOPS: the fitting pool with the most free bytes, others named with why they were refused', () => {
  const c = choosePool(
    [
      pool('a', { usedBytes: 90 * GiB }),
      pool('b', { usedBytes: 10 * GiB }),
      pool('c', { state: 'Maintenance' }),
      pool('d', { zoneId: 'z2' }),
    ],
    { zoneId: 'z1', sizeBytes: 5 * GiB, minIops: 0 },
  );
  assert.equal(c.poolId, 'b');
  assert.match(
    c.reason,
    /^placed in pool b: 90 GiB of 100 GiB free for 5 GiB; the most free space of 2 pools/,
  );
  assert.match(c.reason, /pool c: Maintenance, not Up/);
  assert.match(c.reason, /pool d: in another zone/);
});

void test('a minimum IOPS only fits pools that promise IOPS and have them free; the most free IOPS wins', () => {
  const c = choosePool(
    [
      pool('files'),
      pool('small', { capacityIops: 1000, usedMinIops: 950 }),
      pool('big', { capacityIops: 20_000, usedMinIops: 1000 }),
      pool('bigger', { capacityIops: 30_000, usedMinIops: 2000 }),
    ],
    { sizeBytes: GiB, minIops: 100 },
  );
  assert.equal(c.poolId, 'bigger');
  assert.match(c.reason, /28000 of 30000 IOPS free for a minimum of 100/);
  assert.match(c.reason, /pool files: promises no IOPS/);
  assert.match(c.reason, /pool small: 50 IOPS free, 100 minimum needed/);
});

void test('equal pools: the lower id, so the choice repeats', () => {
  assert.equal(choosePool([pool('y'), pool('x')], { sizeBytes: GiB, minIops: 0 }).poolId, 'x');
});

void test('no pool fits: STORAGE_PLACEMENT_EXHAUSTED with every reason', () => {
  assert.throws(
    () => choosePool([pool('a', { usedBytes: 99.5 * GiB })], { sizeBytes: GiB, minIops: 0 }),
    (e) =>
      isStrataError(e, 'STORAGE_PLACEMENT_EXHAUSTED') &&
      /pool a: 0\.5 GiB free, 1 GiB needed/.test(e.message),
  );
  assert.throws(
    () => choosePool([], { sizeBytes: GiB, minIops: 0 }),
    (e) => isStrataError(e, 'STORAGE_PLACEMENT_EXHAUSTED') && /there is no storage pool/.test(e.message),
  );
});

void test("storage tags: only pools carrying every one of the offering's tags, the reason names them", () => {
  const c = choosePool(
    [
      pool('a', { storageTags: ['ssd'] }),
      pool('b', { storageTags: ['gold', 'ssd'], usedBytes: 50 * GiB }),
      pool('c', { storageTags: [] }),
    ],
    { sizeBytes: GiB, minIops: 0, storageTags: ['gold', 'ssd'] },
  );
  assert.equal(c.poolId, 'b');
  assert.match(c.reason, /carries the offering's storage tags gold, ssd/);
  assert.match(c.reason, /pool a: lacks the offering's storage tags gold/);
  assert.match(c.reason, /pool c: lacks the offering's storage tags gold, ssd/);
  assert.throws(
    () => choosePool([pool('a')], { sizeBytes: GiB, minIops: 0, storageTags: ['nvme'] }),
    (e: unknown) => isStrataError(e, 'STORAGE_PLACEMENT_EXHAUSTED'),
  );
});
