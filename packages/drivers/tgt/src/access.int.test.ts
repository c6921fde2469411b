import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB, type HostRef, type IscsiConnection, type StorageContext } from '@strata/core';
import { ensureReflinkPool, ensureTgtd, hasPattern, openError, writePattern } from '@strata/testing';
import { TgtDriver } from './driver.js';

const tag = randomBytes(3).toString('hex');
const ctx: StorageContext = { signal: new AbortController().signal };
const hostA: HostRef = { id: `a-${tag}`, iscsiInitiator: `iqn.2026-11.io.strata.test:a-${tag}` };
const hostB: HostRef = { id: `b-${tag}`, iscsiInitiator: `iqn.2026-11.io.strata.test:b-${tag}` };
const volumeId = `acc-${tag}`;
let root = '';
let portal = '';
const chapKey = randomBytes(16).toString('hex');
let driver: TgtDriver;

async function iscsi(d: TgtDriver, host: HostRef): Promise<IscsiConnection> {
  const c = (await d.connectionInfo(ctx, { volumeId, host })).connection;
  if (c.adaptor !== 'iscsi') throw new Error(`expected an iscsi connection, got ${c.adaptor}`);
  return c;
}

before(async () => {
  const pool = await ensureReflinkPool();
  portal = (await ensureTgtd()).portal;
  root = join(pool.mountPoint, `acc-${tag}`);
  driver = new TgtDriver(`acc-${tag}`, { root, portal, capacityIops: 0, chapKey });
  await driver.createVolume(ctx, { volumeId, sizeBytes: 8 * MiB });
});

after(async () => {
  await driver.deleteVolume(ctx, { volumeId });
  await rm(root, { recursive: true, force: true });
});

void test('a host not granted cannot open the LUN with QEMU; it can after the grant, and not after revoke', async () => {
  await driver.grantAccess(ctx, { volumeId, host: hostA });
  assert.equal(await openError(await iscsi(driver, hostA)), null);
  const refused = await openError(await iscsi(driver, hostB));
  assert.match(refused ?? '', /Target not found\(515\)/);
  await driver.grantAccess(ctx, { volumeId, host: hostB });
  assert.equal(await openError(await iscsi(driver, hostB)), null);
  await driver.revokeAccess(ctx, { volumeId, host: hostB });
  assert.match((await openError(await iscsi(driver, hostB))) ?? '', /Target not found\(515\)/);
  assert.equal(await openError(await iscsi(driver, hostA)), null, 'the other grant is untouched');
});

void test('CHAP: the right secret opens, a wrong one gives Authentication failure', async () => {
  const good = await iscsi(driver, hostA);
  assert.ok(good.chap, 'CHAP details are given');
  assert.equal(await openError(good), null);
  const bad: IscsiConnection = {
    ...good,
    chap: { username: good.chap.username, secret: { ...good.chap.secret, value: 'wrong-secret-123' } },
  };
  assert.match((await openError(bad)) ?? '', /Authentication failure\(513\)/);
  const { chap: _omit, ...noChap } = good;
  assert.notEqual(await openError(noChap), null, 'no CHAP at all is refused too');
});

void test('after tgtd loses the target (as on a restart), a new driver instance rebuilds it with its ACLs from the pool', async () => {
  await writePattern(await iscsi(driver, hostA), 0x3c, 0, 65536);
  const t = await driver.targets.find(ctx, volumeId);
  assert.ok(t);
  await driver.targets.adm.deleteTarget(ctx, t.tid);
  assert.equal(await driver.targets.find(ctx, volumeId), null);
  const again = new TgtDriver(`acc-${tag}`, { root, portal, capacityIops: 0, chapKey });
  await again.getVolume(ctx, { volumeId });
  assert.ok(await again.targets.find(ctx, volumeId));
  assert.equal(await hasPattern(await iscsi(again, hostA), 0x3c, 0, 65536), true);
  assert.match((await openError(await iscsi(again, hostB))) ?? '', /Target not found\(515\)/);
  driver = again;
});

void test('a host with no initiator name is refused with STORAGE_ACCESS_REQUIRED', async () => {
  await assert.rejects(driver.grantAccess(ctx, { volumeId, host: { id: 'nameless' } }), {
    code: 'STORAGE_ACCESS_REQUIRED',
  });
});

void test('a copy left half-done by a crash is removed when a driver instance starts', async () => {
  const leftover = `${driver.store.snapshotRaw(`crashed-${tag}`)}.tmp`;
  await writeFile(leftover, 'partial');
  const again = new TgtDriver(`acc-${tag}`, { root, portal, capacityIops: 0, chapKey });
  await again.capacity(ctx);
  await assert.rejects(access(leftover), { code: 'ENOENT' });
  driver = again;
});
