import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError, MiB, StrataError, type StorageCallParams } from '@strata/core';
import { FakeStorageDriver } from '@strata/testing';
import { isWithin, servesPool, StorageNode } from './storage-node.js';

// The storage role's dispatch, with the in-memory fake driver (the real drivers behind the same
// code run in packages/server/src/orchestration/remote-*.int.test.ts, over a real channel).
const pool = { provider: 'qcow2', url: 'file:///srv/pool', details: {}, capacityBytes: 0, capacityIops: 0 };
const call = (over: Partial<StorageCallParams>): StorageCallParams => ({
  poolId: 'p1',
  pool,
  method: 'capacity',
  deadlineMs: 10_000,
  ...over,
});

test('pool directories: a pool is served in a directory the node holds or below it, never a sibling', () => {
  assert.ok(isWithin('/srv/pool', '/srv/pool'));
  assert.ok(isWithin('/srv/pool/a b', '/srv/pool/'));
  assert.ok(!isWithin('/srv/pool2', '/srv/pool'));
  assert.ok(!isWithin('/srv/pool/../etc', '/srv/pool'));
  const facts = { providers: ['qcow2', 'rbd'], poolDirs: ['/srv/pool'] };
  assert.ok(servesPool(facts, pool));
  assert.ok(servesPool(facts, { provider: 'qcow2', url: 'file:///srv/pool/x%20y' }));
  assert.ok(!servesPool(facts, { provider: 'qcow2', url: 'file:///srv/other' }));
  assert.ok(!servesPool(facts, { provider: 'tgt', url: 'iscsi://h:3260/srv/pool' }), 'provider not served');
  assert.ok(servesPool(facts, { provider: 'rbd', url: 'rbd://volumes' }), 'rbd needs no directory');
  assert.ok(!servesPool(facts, { provider: 'qcow2', url: 'not a url' }));
});

test('storage.call: runs the method on one driver per pool, rebuilt when the settings change', async () => {
  const built: FakeStorageDriver[] = [];
  const node = new StorageNode(
    { providers: ['qcow2'], poolDirs: ['/srv/pool'] },
    {
      qcow2: (p) => {
        const d = new FakeStorageDriver(p.name, { capacityIops: p.capacityIops });
        built.push(d);
        return d;
      },
    },
  );
  try {
    const made = await node.call(
      call({ method: 'createVolume', request: { volumeId: 'v1', sizeBytes: 4 * MiB } }),
      new AbortController().signal,
    );
    assert.equal((made.result as { created: boolean }).created, true);
    const listed = await node.call(call({ method: 'listVolumes' }), new AbortController().signal);
    assert.equal((listed.result as unknown[]).length, 1, 'the same instance');
    assert.deepEqual(
      (await node.call(call({ method: 'listVmSnapshotParts' }), AbortSignal.timeout(5_000))).result,
      [],
    );
    await node.call(call({ pool: { ...pool, capacityIops: 5 } }), new AbortController().signal);
    assert.equal(built.length, 2, 'new settings, new instance');
    assert.deepEqual(
      built[0]?.calls.map((c) => c.method),
      ['createVolume', 'listVolumes'],
    );
  } finally {
    await node.close();
  }
});

test('storage.call refuses, coded: a pool it does not serve, a bad method, request or deadline, a passed deadline', async () => {
  const node = new StorageNode(
    { providers: ['qcow2'], poolDirs: ['/srv/pool'] },
    {
      qcow2: (p) => new FakeStorageDriver(p.name),
    },
  );
  const live = new AbortController().signal;
  const refused = async (params: StorageCallParams, code: string, signal = live) =>
    assert.rejects(node.call(params, signal), (e) => isStrataError(e) && e.code === code);
  try {
    await refused(call({ pool: { ...pool, url: 'file:///srv/else' } }), 'UNAVAILABLE');
    await refused(call({ pool: { ...pool, provider: 'tgt' } }), 'UNAVAILABLE');
    await refused(call({ method: 'close' as never }), 'INVALID_ARGUMENT');
    await refused(call({ method: 'getVolume' }), 'INVALID_ARGUMENT');
    await refused(call({ deadlineMs: 0 }), 'INVALID_ARGUMENT');
    const aborted = new AbortController();
    aborted.abort(new StrataError('TIMEOUT', { what: 'x', ms: 1 }));
    await refused(
      call({ method: 'createVolume', request: { volumeId: 'v', sizeBytes: MiB } }),
      'STORAGE_CANCELLED',
      aborted.signal,
    );
  } finally {
    await node.close();
  }
});
