import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientKeyring, createCephClient, deleteCephClient } from './clients.js';
import { run } from './exec.js';
import { cephAdmin, ensureCeph } from './launcher.js';

void test('ensureCeph brings up a cluster at HEALTH_OK, and a second call reuses it', async () => {
  const first = await ensureCeph();
  const { stdout } = await cephAdmin(first, ['health', '--format', 'json']);
  assert.equal((JSON.parse(stdout) as { status: string }).status, 'HEALTH_OK');
  assert.deepEqual(first.monitors, ['127.0.0.1:3300']);
  const df = JSON.parse((await cephAdmin(first, ['df', '--format', 'json'])).stdout) as {
    pools: Array<{ name: string }>;
  };
  assert.ok(
    df.pools.some((p) => p.name === first.pool),
    'test pool exists',
  );
  const again = await ensureCeph();
  assert.equal(again.fsid, first.fsid);
});

void test('a limited cephx client can use rbd in its pool and cannot read the admin key', async () => {
  const cluster = await ensureCeph();
  const id = `strata-test-${randomBytes(4).toString('hex')}`;
  const client = await createCephClient(cluster, id, cluster.pool);
  const same = await createCephClient(cluster, id, cluster.pool);
  assert.equal(same.key, client.key, 'idempotent on the id');
  const keyring = join(cluster.dir, `${id}.keyring`);
  await writeFile(keyring, clientKeyring(client), { mode: 0o600 });
  const as = ['--conf', cluster.confPath, '--keyring', keyring, '--id', id];
  const image = `img-${randomBytes(4).toString('hex')}`;
  try {
    await run('rbd', [...as, 'create', '--size', '4M', `${cluster.pool}/${image}`]);
    const info = JSON.parse(
      (await run('rbd', [...as, 'info', '--format', 'json', `${cluster.pool}/${image}`])).stdout,
    ) as { size: number };
    assert.equal(info.size, 4 * 1024 * 1024);
    await assert.rejects(
      run('ceph', [...as, 'auth', 'get', 'client.admin']),
      /access denied|EACCES|permission/i,
    );
  } finally {
    await run('rbd', [
      '--conf',
      cluster.confPath,
      '--keyring',
      cluster.adminKeyringPath,
      'rm',
      `${cluster.pool}/${image}`,
    ]).catch(() => undefined);
    await deleteCephClient(cluster, id);
    await rm(keyring, { force: true });
  }
});
