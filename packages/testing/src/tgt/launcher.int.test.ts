import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stat, writeFile, rm } from 'node:fs/promises';
import { ensureReflinkPool } from './reflink-pool.js';
import { ensureTgtd } from './tgtd.js';
import { run } from './run.js';

void test('reflink pool is XFS with reflink, mounted once and reused', async () => {
  const a = await ensureReflinkPool();
  const b = await ensureReflinkPool();
  assert.equal(a.mountPoint, b.mountPoint);
  const info = await run('xfs_info', [a.mountPoint]);
  assert.match(info.stdout, /reflink=1/);
  const src = join(a.mountPoint, `probe-${process.pid}.raw`);
  await writeFile(src, Buffer.alloc(1 << 20, 7));
  await run('cp', ['--reflink=always', src, `${src}.clone`]);
  assert.equal((await stat(`${src}.clone`)).size, 1 << 20);
  await rm(src);
  await rm(`${src}.clone`);
});

void test('tgtd answers and a second call reuses it', async () => {
  const a = await ensureTgtd();
  const b = await ensureTgtd();
  assert.equal(a.portal, b.portal);
  const sys = await run('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'sys']);
  assert.match(sys.stdout, /State: ready/);
});
