import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MiB, type HostRef, type IscsiConnection, type StorageContext } from '@strata/core';
import {
  ensureReflinkPool,
  hasPattern,
  openError,
  startOwnTgtd,
  writePattern,
  type OwnTgtd,
} from '@strata/testing';
import { TgtDriver } from './driver.js';
import { Tgtadm } from './tgtadm.js';

const tag = randomBytes(3).toString('hex');
const ctx: StorageContext = { signal: new AbortController().signal };
const hostA: HostRef = { id: `a-${tag}`, iscsiInitiator: `iqn.2026-11.io.strata.test:a-${tag}` };
const hostB: HostRef = { id: `b-${tag}`, iscsiInitiator: `iqn.2026-11.io.strata.test:b-${tag}` };
const volumes = [`rst-${tag}-1`, `rst-${tag}-2`];
// A management port of this run's own: killing this tgtd touches no one else's targets.
const controlPort = 600 + (randomBytes(2).readUInt16BE() % 400);
let root = '';
let tgtd: OwnTgtd;
let driver: TgtDriver;

async function iscsi(volumeId: string, host: HostRef): Promise<IscsiConnection> {
  const c = (await driver.connectionInfo(ctx, { volumeId, host })).connection;
  if (c.adaptor !== 'iscsi') throw new Error(`expected an iscsi connection, got ${c.adaptor}`);
  return c;
}

before(async () => {
  const pool = await ensureReflinkPool();
  tgtd = await startOwnTgtd(controlPort);
  root = join(pool.mountPoint, `rst-${tag}`);
  driver = new TgtDriver(`rst-${tag}`, {
    root,
    portal: tgtd.portal,
    capacityIops: 0,
    chapKey: randomBytes(16).toString('hex'),
    controlPort,
    watchIntervalMs: 500,
  });
  for (const volumeId of volumes) {
    await driver.createVolume(ctx, { volumeId, sizeBytes: 8 * MiB });
    await driver.grantAccess(ctx, { volumeId, host: hostA });
  }
});

after(async () => {
  for (const volumeId of volumes) await driver.deleteVolume(ctx, { volumeId }).catch(() => undefined);
  await driver.close();
  await tgtd.close();
  await rm(root, { recursive: true, force: true });
});

void test('after tgtd is killed and restarted, its targets, LUNs, ACLs and CHAP come back with no driver call', async () => {
  for (const [i, volumeId] of volumes.entries())
    await writePattern(await iscsi(volumeId, hostA), 0x31 + i, 0, MiB);
  const adm = new Tgtadm('tgtadm', controlPort);
  const before = await adm.targets(ctx);
  assert.equal(before.length, volumes.length);

  await tgtd.kill();
  await tgtd.restart();
  // Read through tgtadm directly: no call of the driver's may be what re-makes the targets.
  let after = await adm.targets(ctx);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    after = await adm.targets(ctx);
    const whole = after.filter((t) => t.luns.size === 1 && t.acls.includes(hostA.iscsiInitiator ?? ''));
    if (whole.length === volumes.length && (await adm.accounts(ctx)).length === volumes.length) break;
    await sleep(250);
  }
  assert.deepEqual(after.map((t) => t.iqn).sort(), before.map((t) => t.iqn).sort(), 'every target is back');
  for (const t of after) {
    assert.equal(t.luns.size, 1, `${t.iqn} has its LUN`);
    assert.deepEqual(t.acls, [hostA.iscsiInitiator], `${t.iqn} has exactly its grant's ACL`);
    assert.equal(t.accounts.length, 1, `${t.iqn} has its CHAP account bound`);
  }
  for (const [i, volumeId] of volumes.entries()) {
    assert.ok(await hasPattern(await iscsi(volumeId, hostA), 0x31 + i, 0, MiB), `${volumeId} reads its data`);
    assert.match(
      (await openError(await iscsi(volumeId, hostB))) ?? '',
      /Target not found\(515\)/,
      'a host never granted is still refused',
    );
  }
});

void test('a check with nothing missing re-makes nothing', async () => {
  assert.deepEqual(await driver.watch.check(), []);
});
