import { performance } from 'node:perf_hooks';
// Snapshot, revert and clone times for a 1 GiB and a 64 GiB volume, data written through QEMU's
// own client as 1 MiB chunks spread evenly over the volume. `one` and `big` hold 16 chunks each
// (does the cost grow with the volume's size?); `bigDense` holds 1 MiB in every 64 MiB (1,024
// chunks: does it grow with the data?). Each comparison is measured side by side in one run,
// alternating order round by round, so the shared machine's noise falls on both alike (DESIGN §7).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuImageArgs, run } from '@strata/testing';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function fill(conn, sizeBytes, chunks) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-fill-'));
  try {
    const args = await qemuImageArgs(conn, dir);
    const step = Math.floor(sizeBytes / chunks / MiB) * MiB;
    const cmds = [];
    for (let k = 0; k < chunks; k++) cmds.push('-c', `write -P 9 ${k * step} 1M`);
    // Batches keep each command line short.
    for (let k = 0; k < cmds.length; k += 256)
      await run('qemu-io', [...args, ...cmds.slice(k, k + 256)], 600_000);
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

/** Lets background writeback finish so one case's flush is not charged to the next (not timed). */
async function settle(driver) {
  const root = driver.config?.root;
  if (root) await run('sync', ['-f', root]);
}

async function prepare(driver, ctx, host, volumeId, sizeBytes, chunks) {
  await driver.createVolume(ctx, { volumeId, sizeBytes });
  await driver.grantAccess(ctx, { volumeId, host });
  await fill((await driver.connectionInfo(ctx, { volumeId, host })).connection, sizeBytes, chunks);
  return { volumeId, sizeBytes, snap: [], revert: [], clone: [] };
}

/** Measures two volumes side by side, alternating which goes first each round (A B, B A, ...). */
async function pair(driver, ctx, a, b, reps) {
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? [a, b] : [b, a];
    for (const t of order) {
      const snapshotId = `${t.volumeId}-s${r}`;
      await settle(driver);
      t.snap.push(await timed(() => driver.createSnapshot(ctx, { volumeId: t.volumeId, snapshotId })));
      await settle(driver);
      t.revert.push(await timed(() => driver.revertSnapshot(ctx, { volumeId: t.volumeId, snapshotId })));
      const c = `${t.volumeId}-c${r}`;
      await settle(driver);
      t.clone.push(
        await timed(() =>
          driver.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes: t.sizeBytes, snapshotId }),
        ),
      );
      await driver.deleteVolume(ctx, { volumeId: c });
      await driver.deleteSnapshot(ctx, { volumeId: t.volumeId, snapshotId });
    }
  }
  const med = (t) => ({ snapshotMs: median(t.snap), revertMs: median(t.revert), cloneMs: median(t.clone) });
  return [med(a), med(b)];
}

/**
 * Answers medians {snapshotMs, revertMs, cloneMs} for `one` (1 GiB, 16 chunks) against `big`
 * (64 GiB, 16 chunks), and again for `oneB` against `bigDense` (64 GiB, 1,024 chunks).
 */
export async function measureDriver(driver, ctx, host, reps = 9) {
  const tag = randomBytes(3).toString('hex');
  const ids = ['one', 'big', 'oneb', 'dense'].map((n) => `bench-${tag}-${n}`);
  try {
    const one = await prepare(driver, ctx, host, ids[0], GiB, 16);
    const big = await prepare(driver, ctx, host, ids[1], 64 * GiB, 16);
    const [mOne, mBig] = await pair(driver, ctx, one, big, reps);
    await driver.deleteVolume(ctx, { volumeId: ids[1] });
    const oneB = await prepare(driver, ctx, host, ids[2], GiB, 16);
    const dense = await prepare(driver, ctx, host, ids[3], 64 * GiB, 1024);
    const [mOneB, mDense] = await pair(driver, ctx, oneB, dense, Math.min(reps, 5));
    return { one: mOne, big: mBig, oneB: mOneB, bigDense: mDense };
  } finally {
    for (const v of ids) await driver.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
  }
}
