import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_ROOT, runDriverConformance } from '@strata/testing';
import { Qcow2Driver } from './driver.js';

const tag = randomBytes(3).toString('hex');
const root = join(TEST_ROOT, `qcow2-cf-${tag}`);

// A real directory pool and real qemu-img; data checked through QEMU's own file client.
runDriverConformance('qcow2', async () => {
  await mkdir(root, { recursive: true });
  return new Qcow2Driver(`qcow2-cf-${tag}`, { root, capacityIops: 10_000 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});
