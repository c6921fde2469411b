// Ceph RBD rows of bench/storage (DESIGN.md section 7): snapshot, revert and clone times through
// the driver for a 1 GiB and a 64 GiB volume holding the same data (their ratio shows whether the
// cost grows with size), the native `rbd snap create` beside it, and librbd QoS accuracy measured
// as the host sees it (its own cephx user, 4 KiB random writes, 16 in flight) over 1-second windows.
// Run: node bench/storage-rbd.mjs   (after `npx tsc -b`); writes bench/results/storage-rbd.json.
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RbdDriver } from '@strata/driver-rbd';
import { ensureCeph, ensurePool } from '@strata/testing';

const GiB = 1024 ** 3;
const REPS = 5;
const ctx = { signal: new globalThis.AbortController().signal };

function run(cmd, args, timeout = 300_000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `rbd` as the host: the key from connectionInfo in a 0600 keyring, monitors from it too. */
async function asHost(conn, dir) {
  const keyring = join(dir, 'keyring');
  await writeFile(keyring, `[client.${conn.user}]\n\tkey = ${conn.secret.value}\n`, { mode: 0o600 });
  return (args, timeout) =>
    run(
      'rbd',
      [
        '--conf',
        '/dev/null',
        '-m',
        conn.monitors.join(','),
        '--id',
        conn.user,
        '--keyring',
        keyring,
        ...args,
      ],
      timeout,
    );
}

/** Completed ops per 1-second window from `rbd bench` (its OPS column is cumulative). */
function perSecond(out) {
  const rows = [...out.matchAll(/^\s+(\d+)\s+(\d+)\s+[\d.]+\s+/gm)].map((m) => [Number(m[1]), Number(m[2])]);
  const w = [];
  let [prevSec, prevOps] = [0, 0];
  for (const [sec, ops] of rows) {
    const span = sec - prevSec;
    if (span > 0) for (let k = 0; k < span; k++) w.push((ops - prevOps) / span);
    [prevSec, prevOps] = [sec, ops];
  }
  return w;
}

export async function benchRbd() {
  const ceph = { ...(await ensureCeph()), pool: 'strata-rbd-bench' }; // a pool of its own
  await ensurePool(ceph, ceph.pool);
  const tag = randomBytes(3).toString('hex');
  // Five 64 GiB clones on a 64 GiB test cluster: thin, so admit far past the raw size.
  const d = new RbdDriver(`bench-${tag}`, {
    pool: ceph.pool,
    confPath: ceph.confPath,
    keyringPath: ceph.adminKeyringPath,
    monitors: ceph.monitors,
    overprovisionFactor: 64,
  });
  const host = { id: `bench-host-${tag}` };
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-rbd-'));
  const made = [];
  const metrics = {};
  const put = (key, value, unit) => (metrics[key] = { value: Math.round(value * 1000) / 1000, unit });
  try {
    const times = {};
    for (const [label, size] of [
      ['1g', GiB],
      ['64g', 64 * GiB],
    ]) {
      const v = `bench-${tag}-${label}`;
      made.push(v);
      await d.createVolume(ctx, { volumeId: v, sizeBytes: size });
      await d.grantAccess(ctx, { volumeId: v, host });
      const rbd = await asHost((await d.connectionInfo(ctx, { volumeId: v, host })).connection, dir);
      // The same 256 MiB in both, spread over the whole volume.
      await rbd([
        'bench',
        '--io-type',
        'write',
        '--io-size',
        '4M',
        '--io-total',
        '256M',
        '--io-pattern',
        'rand',
        `${ceph.pool}/vol-${v}`,
      ]);
      const t = { snap: [], native: [], revert: [], clone: [] };
      for (let i = 0; i < REPS; i++) {
        const s = `${v}-s${i}`;
        t.snap.push(await timed(() => d.createSnapshot(ctx, { volumeId: v, snapshotId: s })));
        t.revert.push(await timed(() => d.revertSnapshot(ctx, { volumeId: v, snapshotId: s })));
        const c = `${v}-c${i}`;
        made.unshift(c);
        t.clone.push(
          await timed(() => d.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes: size, snapshotId: s })),
        );
        t.native.push(
          await timed(() =>
            run('rbd', [
              '--conf',
              ceph.confPath,
              '--keyring',
              ceph.adminKeyringPath,
              'snap',
              'create',
              '--no-progress',
              `${ceph.pool}/vol-${v}@native${i}`,
            ]),
          ),
        );
      }
      times[label] = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, median(xs)]));
      put(`snapshot_ms_${label}_rbd`, times[label].snap, 'ms');
      put(`snapshot_native_ms_${label}_rbd`, times[label].native, 'ms');
      put(`revert_ms_${label}_rbd`, times[label].revert, 'ms');
      put(`clone_ms_${label}_rbd`, times[label].clone, 'ms');
    }
    put('snapshot_ratio_64_1_rbd', times['64g'].snap / times['1g'].snap, 'ratio');
    put('snapshot_native_ratio_64_1_rbd', times['64g'].native / times['1g'].native, 'ratio');
    put('revert_ratio_64_1_rbd', times['64g'].revert / times['1g'].revert, 'ratio');
    put('clone_ratio_64_1_rbd', times['64g'].clone / times['1g'].clone, 'ratio');

    // QoS: 200 IOPS max, 400 burst for 4 s (librbd bucket 400 × 2), then back to 200.
    const q = `bench-${tag}-qos`;
    made.push(q);
    const max = 200;
    const burst = 400;
    const burstSeconds = 4;
    await d.createVolume(ctx, { volumeId: q, sizeBytes: GiB });
    await d.grantAccess(ctx, { volumeId: q, host });
    const rbd = await asHost((await d.connectionInfo(ctx, { volumeId: q, host })).connection, dir);
    const bench = (ops) =>
      rbd([
        'bench',
        '--io-type',
        'write',
        '--io-size',
        '4K',
        '--io-threads',
        '16',
        '--io-pattern',
        'rand',
        '--io-total',
        String(ops * 4096),
        `${ceph.pool}/vol-${q}`,
      ]);
    await bench(4096); // allocate first: measured writes are overwrites
    await d.setQos(ctx, { volumeId: q, qos: { minIops: 0, maxIops: max, burstIops: max, burstSeconds: 1 } });
    const m = perSecond(await bench(max * 7));
    await d.setQos(ctx, { volumeId: q, qos: { minIops: 0, maxIops: max, burstIops: burst, burstSeconds } });
    const b = perSecond(await bench(burst * burstSeconds + max * 3));
    // Full windows only: not the first (start-up) nor the last (partial).
    const maxWindows = m.slice(1, -1);
    const burstWindows = b.slice(0, burstSeconds - 1);
    put('qos_max_accuracy_rbd', mean(maxWindows) / max, 'ratio');
    put('qos_burst_accuracy_rbd', mean(burstWindows) / burst, 'ratio');
    return { metrics, detail: { times, maxWindows: m, burstWindows: b } };
  } finally {
    for (const v of made) {
      for (const s of await d.listSnapshots(ctx, { volumeId: v }).catch(() => [])) {
        await d.deleteSnapshot(ctx, { volumeId: v, snapshotId: s.snapshotId }).catch(() => undefined);
      }
      await run('rbd', [
        '--conf',
        ceph.confPath,
        '--keyring',
        ceph.adminKeyringPath,
        'snap',
        'purge',
        '--no-progress',
        `${ceph.pool}/vol-${v}`,
      ]).catch(() => undefined);
      await d.deleteVolume(ctx, { volumeId: v }).catch((e) => console.error(`cleanup ${v}: ${e.message}`));
    }
    await d.revokeAccess(ctx, { volumeId: made[0] ?? 'none', host }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { metrics, detail } = await benchRbd();
  const result = { name: 'storage-rbd', when: new Date().toISOString(), machine: hostname(), metrics };
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/storage-rbd.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ ...result, detail }, null, 2));
}
