import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeStorageDriver } from '@strata/testing';
import { ServedPools } from './served-pools.js';
import { StorageNode } from './storage-node.js';

// A restarted storage node builds the drivers of the pools it served before any call, and only
// those it still serves. The fake driver stands for a real one: the real tgt driver's upkeep after
// a tgtd restart is covered by packages/drivers/tgt/src/restart.int.test.ts.
const pool = { provider: 'qcow2', url: 'file:///srv/pool', details: {}, capacityBytes: 0, capacityIops: 0 };

test('served pools are remembered (0600) and their drivers built again after a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'served-'));
  try {
    const file = join(dir, 'state', 'served-pools.json');
    const built: string[] = [];
    const factories = {
      qcow2: (p: { name: string }) => (
        built.push(p.name),
        new FakeStorageDriver(p.name, { capacityIops: 0 })
      ),
    };
    const facts = { providers: ['qcow2'], poolDirs: ['/srv'] };
    const first = new StorageNode(facts, factories, new ServedPools(file));
    await first.call(
      { poolId: 'p1', pool, method: 'capacity', deadlineMs: 10_000 },
      new AbortController().signal,
    );
    await first.call(
      { poolId: 'p2', pool: { ...pool, url: 'file:///srv/other' }, method: 'capacity', deadlineMs: 10_000 },
      new AbortController().signal,
    );
    for (let i = 0; i < 50 && !(await stat(file).catch(() => null)); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await new Promise((r) => setTimeout(r, 100));
    built.length = 0;
    const again = new StorageNode(facts, factories, new ServedPools(file));
    assert.deepEqual((await again.restore()).sort(), ['p1', 'p2']);
    assert.deepEqual(built.sort(), ['p1', 'p2'], 'built with no call');
    const elsewhere = new StorageNode(
      { providers: ['qcow2'], poolDirs: ['/srv/other'] },
      factories,
      new ServedPools(file),
    );
    assert.deepEqual(await elsewhere.restore(), ['p2'], 'a pool no longer served here is left alone');
    // their rebuilt drivers are written back: done before the directory goes
    await Promise.all([first.saved(), again.saved(), elsewhere.saved()]);
    assert.deepEqual(
      await new StorageNode(facts, factories, new ServedPools(join(dir, 'none.json'))).restore(),
      [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
