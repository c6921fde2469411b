import { performance } from 'node:perf_hooks';
// QoS accuracy: achieved IOPS per 1-second window over the configured figure, measured where the
// driver says the figures are enforced. QEMU-enforced (qcow2, tgt): QEMU's own throttling (the
// code behind libvirt's <iotune>) on the real volume path (file, libiscsi), all 4 KiB overwrites
// queued at once (aio) so the throttle alone paces them. Backend-enforced (rbd): the driver's
// setQos, loaded through librbd by `rbd bench`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuImageArgs, run } from '@strata/testing';

/** Runs `ops` 4 KiB writes through a throttle group; answers completions per 1-second window. */
async function windows(conn, throttle, ops, expectSeconds) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-qos-'));
  try {
    const args = await qemuImageArgs(conn, dir, 'file.');
    const i = args.indexOf('--image-opts');
    const image = [
      '--object',
      `throttle-group,id=tg0,${throttle}`,
      ...args.slice(0, i),
      '--image-opts',
      `driver=throttle,throttle-group=tg0,${args[i + 1]}`,
    ];
    const p = spawn('stdbuf', ['-oL', 'qemu-io', ...image], { stdio: ['pipe', 'pipe', 'inherit'] });
    const t0 = performance.now();
    const per = new Map();
    let buf = '';
    p.stdout.on('data', (d) => {
      const s = Math.floor((performance.now() - t0) / 1000);
      buf += d;
      let k;
      while ((k = buf.indexOf('\n')) >= 0) {
        if (buf.slice(0, k).includes('wrote ')) per.set(s, (per.get(s) ?? 0) + 1);
        buf = buf.slice(k + 1);
      }
    });
    let cmds = '';
    for (let k = 0; k < ops; k++) cmds += `aio_write -P 7 ${(k % 1024) * 4096} 4k\n`;
    // Not aio_flush: a drain lifts the throttle. `sleep` runs QEMU's loop while the queue empties.
    p.stdin.end(`${cmds}sleep ${Math.ceil(expectSeconds * 1000) + 1500}\nquit\n`);
    await new Promise((resolve, reject) =>
      p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`qemu-io exit ${c}`)))),
    );
    const last = Math.max(...per.keys());
    return [...Array(last + 1).keys()].map((s) => per.get(s) ?? 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * max: throttle at `max` IOPS for ~5 s, the full windows (not the last, partial one) over max.
 * burst: `burst` IOPS allowed for `burstSeconds`, then `max`; the windows inside the burst over burst.
 */
/**
 * Per-second completions from `rbd bench` (librbd, the same library QEMU's rbd driver uses, with
 * the image's own QoS settings): its SEC/OPS lines are cumulative, so windows are differences.
 */
async function rbdBenchWindows(rbdArgs, spec, ops) {
  const out = await run(
    'rbd',
    [
      ...rbdArgs,
      'bench',
      '--io-type',
      'write',
      '--io-size',
      '4096',
      '--io-threads',
      '16',
      '--io-pattern',
      'rand',
      '--io-total',
      String(ops * 4096),
      spec,
    ],
    600_000,
  );
  const cumulative = [...out.stdout.matchAll(/^\s+(\d+)\s+(\d+)\s+[\d.]+\s/gm)].map((m) => Number(m[2]));
  return cumulative.map((c, i) => c - (cumulative[i - 1] ?? 0));
}

/**
 * `backend`: null when QEMU enforces the figures (throttle group, as libvirt's <iotune>);
 * otherwise `{ setQos(qos), rbdArgs, spec }` to set the volume's QoS at the backend and load it
 * through librbd.
 */
export async function qosAccuracy(conn, { max = 200, burst = 400, burstSeconds = 4, backend = null } = {}) {
  let m;
  let b;
  if (backend) {
    await backend.setQos({ minIops: 0, maxIops: max, burstIops: max, burstSeconds: 1 });
    m = await rbdBenchWindows(backend.rbdArgs, backend.spec, max * 6);
    await backend.setQos({ minIops: 0, maxIops: max, burstIops: burst, burstSeconds });
    b = await rbdBenchWindows(backend.rbdArgs, backend.spec, burst * burstSeconds);
    // rbd bench prints whole seconds only: all but the last (partial) window count.
    m = [0, ...m];
    b = [0, ...b];
  } else {
    // Touch the region first so measured writes are overwrites, not allocations.
    await windows(conn, 'x-iops-total=100000', 1024, 1);
    m = await windows(conn, `x-iops-total=${max}`, max * 6, 6);
    const spec = `x-iops-total=${max},x-iops-total-max=${burst},x-iops-total-max-length=${burstSeconds}`;
    b = await windows(conn, spec, burst * burstSeconds, burstSeconds + 2);
  }
  // Whole seconds only: the first (queue filling) and last (queue draining) windows are partial.
  const full = m.slice(1, 5);
  const inBurst = b.slice(1, burstSeconds - 1);
  return {
    enforcedBy: backend ? 'backend' : 'qemu',
    maxAccuracy: mean(full) / max,
    burstAccuracy: mean(inBurst) / burst,
    maxWindows: m,
    burstWindows: b,
  };
}
