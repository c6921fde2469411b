#!/usr/bin/env node
// bench/storage: per driver, snapshot/revert/clone times at 1 GiB and 64 GiB (ratio 64/1) and QoS
// accuracy (achieved / configured IOPS per 1-second window). Writes bench/results/storage.json,
// keeping metrics of drivers not run this time. Usage: node bench/storage/run.mjs [qcow2] [tgt] [rbd]
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Qcow2Driver } from '@strata/driver-qcow2';
import { TgtDriver } from '@strata/driver-tgt';
import { TEST_ROOT, ensureReflinkPool, ensureTgtd } from '@strata/testing';
import { measureDriver } from './timing.mjs';
import { qosAccuracy } from './qos.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'storage.json');
const ctx = { signal: new globalThis.AbortController().signal };
const tag = randomBytes(3).toString('hex');
const host = { id: `bench-${tag}`, iscsiInitiator: `iqn.2026-11.io.strata.test:bench-${tag}` };

const makers = {
  async qcow2() {
    const root = join(TEST_ROOT, `bench-qcow2-${tag}`);
    await mkdir(root, { recursive: true });
    return { driver: new Qcow2Driver(`bench-${tag}`, { root, capacityIops: 0 }), root };
  },
  async rbd() {
    const { RbdDriver } = await import('@strata/driver-rbd');
    const { ensureCeph } = await import('@strata/testing');
    const ceph = await ensureCeph();
    const config = {
      pool: ceph.pool,
      confPath: ceph.confPath,
      keyringPath: ceph.adminKeyringPath,
      monitors: ceph.monitors,
      capacityIops: 0,
    };
    const rbdArgs = ['--conf', ceph.confPath, '--keyring', ceph.adminKeyringPath, '--id', 'admin'];
    return { driver: new RbdDriver(`bench-${tag}`, config), root: null, rbdArgs };
  },
  async tgt() {
    const pool = await ensureReflinkPool();
    const { portal } = await ensureTgtd();
    const root = join(pool.mountPoint, `bench-${tag}`);
    return {
      driver: new TgtDriver(`bench-${tag}`, {
        root,
        portal,
        capacityIops: 0,
        chapKey: randomBytes(8).toString('hex'),
      }),
      root,
    };
  },
};

async function qos(driver, rbdArgs) {
  const volumeId = `bench-${tag}-qos`;
  try {
    await driver.createVolume(ctx, { volumeId, sizeBytes: 64 * 1024 ** 2 });
    await driver.grantAccess(ctx, { volumeId, host });
    const conn = (await driver.connectionInfo(ctx, { volumeId, host })).connection;
    const bq = driver.capabilities.backendQos;
    // Where the backend enforces max and burst, measure its limits; otherwise QEMU's, as the
    // agent would set them from frontendQos.
    const backend =
      bq.max && bq.burst && conn.adaptor === 'rbd'
        ? {
            setQos: (qos) => driver.setQos(ctx, { volumeId, qos }),
            rbdArgs,
            spec: `${conn.pool}/${conn.image}`,
          }
        : null;
    return await qosAccuracy(conn, { backend });
  } finally {
    await driver.deleteVolume(ctx, { volumeId }).catch(() => undefined);
  }
}

const wanted = process.argv.slice(2).filter((a) => a in makers);
const names = wanted.length ? wanted : Object.keys(makers);
let previous = {};
try {
  previous = JSON.parse(await readFile(out, 'utf8')).metrics ?? {};
} catch {
  // first run
}
const metrics = { ...previous };
const failed = [];
for (const d of names) {
  let made;
  try {
    made = await makers[d]();
  } catch (e) {
    console.error(`${d}: backend not available: ${e.message}`);
    failed.push(d);
    continue;
  }
  const { driver, root, rbdArgs } = made;
  try {
    const { one, big, oneB, bigDense } = await measureDriver(driver, ctx, host);
    const q = await qos(driver, rbdArgs);
    Object.assign(metrics, {
      [`snapshot_ms_1g_${d}`]: { value: one.snapshotMs, unit: 'ms' },
      [`snapshot_ms_64g_${d}`]: { value: big.snapshotMs, unit: 'ms' },
      [`revert_ms_1g_${d}`]: { value: one.revertMs, unit: 'ms' },
      [`revert_ms_64g_${d}`]: { value: big.revertMs, unit: 'ms' },
      [`clone_ms_1g_${d}`]: { value: one.cloneMs, unit: 'ms' },
      [`clone_ms_64g_${d}`]: { value: big.cloneMs, unit: 'ms' },
      [`snapshot_ratio_64_1_${d}`]: { value: big.snapshotMs / one.snapshotMs, unit: 'ratio' },
      [`revert_ratio_64_1_${d}`]: { value: big.revertMs / one.revertMs, unit: 'ratio' },
      [`clone_ratio_64_1_${d}`]: { value: big.cloneMs / one.cloneMs, unit: 'ratio' },
      [`snapshot_ratio_64_1_proportional_data_${d}`]: {
        value: bigDense.snapshotMs / oneB.snapshotMs,
        unit: 'ratio',
      },
      [`revert_ratio_64_1_proportional_data_${d}`]: {
        value: bigDense.revertMs / oneB.revertMs,
        unit: 'ratio',
      },
      [`clone_ratio_64_1_proportional_data_${d}`]: { value: bigDense.cloneMs / oneB.cloneMs, unit: 'ratio' },
      [`qos_max_accuracy_${d}`]: { value: q.maxAccuracy, unit: 'ratio' },
      [`qos_burst_accuracy_${d}`]: { value: q.burstAccuracy, unit: 'ratio' },
    });
    console.log(d, JSON.stringify({ one, big, oneB, bigDense, qos: q }));
  } catch (e) {
    console.error(`${d}: ${e.stack ?? e}`);
    failed.push(d);
  } finally {
    await driver.close?.();
    if (root) await rm(root, { recursive: true, force: true });
  }
}
const machine = `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? ''}`.trim();
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ name: 'storage', when: new Date().toISOString(), machine, metrics }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
if (failed.length > 0) process.exitCode = 1;
