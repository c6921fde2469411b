import { performance } from 'node:perf_hooks';
// Snapshot, revert and clone times for a 1 GiB and a 64 GiB volume, data written through QEMU's
// own client as 1 MiB chunks spread evenly over the volume. `one` and `big` hold 16 chunks each
// (does the cost grow with the volume's size?); `bigDense` holds 1 MiB in every 64 MiB (1,024
// chunks: does it grow with the data?). The volumes are measured in turn, round after round, so
// the shared machine's noise falls on all of them alike (DESIGN §7: side by side, same run).
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

/** Answers, per case, the medians {snapshotMs, revertMs, cloneMs} over `reps` interleaved rounds. */
export async function measureDriver(driver, ctx, host, reps = 7) {
  const tag = randomBytes(3).toString('hex');
  const cases = { one: [GiB, 16], big: [64 * GiB, 16], bigDense: [64 * GiB, 1024] };
  const made = [];
  const times = {};
  try {
    for (const [name, [sizeBytes, chunks]] of Object.entries(cases)) {
      const volumeId = `bench-${tag}-${name.toLowerCase()}`;
      made.push(volumeId);
      await driver.createVolume(ctx, { volumeId, sizeBytes });
      await driver.grantAccess(ctx, { volumeId, host });
      await fill((await driver.connectionInfo(ctx, { volumeId, host })).connection, sizeBytes, chunks);
      times[name] = { volumeId, sizeBytes, snap: [], revert: [], clone: [] };
    }
    for (let r = 0; r < reps; r++) {
      for (const t of Object.values(times)) {
        const snapshotId = `${t.volumeId}-s${r}`;
        t.snap.push(await timed(() => driver.createSnapshot(ctx, { volumeId: t.volumeId, snapshotId })));
      }
      for (const t of Object.values(times)) {
        t.revert.push(
          await timed(() =>
            driver.revertSnapshot(ctx, { volumeId: t.volumeId, snapshotId: `${t.volumeId}-s${r}` }),
          ),
        );
      }
      for (const t of Object.values(times)) {
        const c = `${t.volumeId}-c${r}`;
        made.push(c);
        t.clone.push(
          await timed(() =>
            driver.createVolumeFromSnapshot(ctx, {
              volumeId: c,
              sizeBytes: t.sizeBytes,
              snapshotId: `${t.volumeId}-s${r}`,
            }),
          ),
        );
        await driver.deleteVolume(ctx, { volumeId: c });
      }
    }
  } finally {
    for (const v of made) await driver.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
  }
  const out = {};
  for (const [name, t] of Object.entries(times)) {
    out[name] = { snapshotMs: median(t.snap), revertMs: median(t.revert), cloneMs: median(t.clone) };
  }
  return out;
}
