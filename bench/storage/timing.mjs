// Snapshot, revert and clone times for a 1 GiB and a 64 GiB volume, data written through QEMU's
// own client as 1 MiB chunks spread evenly over the volume. `same`: 16 chunks in both (does the
// cost grow with the volume's size?); `proportional`: 1 MiB in every 64 MiB (16 vs 1,024 chunks:
// does it grow with the data?).
import { randomBytes } from 'node:crypto';
import { run } from '@strata/testing';
import { qemuImageArgs } from '@strata/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function fill(conn, sizeBytes, chunks) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-fill-'));
  try {
    const args = await qemuImageArgs(conn, dir);
    const cmds = [];
    const step = Math.floor(sizeBytes / chunks / MiB) * MiB;
    for (let k = 0; k < chunks; k++) cmds.push('-c', `write -P 9 ${k * step} 1M`);
    // Batches keep each command line short.
    for (let k = 0; k < cmds.length; k += 256) await run('qemu-io', [...args, ...cmds.slice(k, k + 256)], 600_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Answers {snapshotMs, revertMs, cloneMs} (medians of `reps`) for one volume size. */
export async function measureSize(driver, ctx, host, sizeBytes, chunks, reps = 3) {
  const tag = randomBytes(3).toString('hex');
  const volumeId = `bench-${tag}`;
  const made = [volumeId];
  try {
    await driver.createVolume(ctx, { volumeId, sizeBytes });
    await driver.grantAccess(ctx, { volumeId, host });
    await fill((await driver.connectionInfo(ctx, { volumeId, host })).connection, sizeBytes, chunks);
    const snap = [], revert = [], clone = [];
    for (let r = 0; r < reps; r++) {
      const snapshotId = `bench-${tag}-s${r}`;
      snap.push(await timed(() => driver.createSnapshot(ctx, { volumeId, snapshotId })));
      revert.push(await timed(() => driver.revertSnapshot(ctx, { volumeId, snapshotId })));
      const c = `bench-${tag}-c${r}`;
      made.push(c);
      clone.push(await timed(() => driver.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes, snapshotId })));
    }
    return { snapshotMs: median(snap), revertMs: median(revert), cloneMs: median(clone) };
  } finally {
    for (const v of made) await driver.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
  }
}

export async function measureDriver(driver, ctx, host) {
  const one = await measureSize(driver, ctx, host, GiB, 16);
  const big = await measureSize(driver, ctx, host, 64 * GiB, 16);
  const bigDense = await measureSize(driver, ctx, host, 64 * GiB, 1024);
  return { one, big, bigDense };
}
