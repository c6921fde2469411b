import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureReflinkPool, ensureTgtd, runDriverConformance } from '@strata/testing';
import { TgtDriver } from './driver.js';

const tag = randomBytes(3).toString('hex');
let root = '';

// Real tgtd, real XFS reflink loop pool, CHAP on: the suite opens every LUN with QEMU's libiscsi.
runDriverConformance('tgt', async () => {
  const pool = await ensureReflinkPool();
  const { portal } = await ensureTgtd();
  root = join(pool.mountPoint, `cf-${tag}`);
  return new TgtDriver(`cf-${tag}`, {
    root,
    portal,
    capacityIops: 10_000,
    chapKey: randomBytes(16).toString('hex'),
  });
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});
