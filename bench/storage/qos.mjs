import { performance } from 'node:perf_hooks';
// QoS accuracy through QEMU's own throttling (the code behind libvirt's <iotune>), on the real
// volume path (file for qcow2, libiscsi for tgt): achieved IOPS per 1-second window over the
// configured figure. All 4 KiB overwrites are queued at once (aio), so the throttle alone paces them.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuImageArgs } from '@strata/testing';

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
export async function qosAccuracy(conn, { max = 200, burst = 400, burstSeconds = 4 } = {}) {
  // Touch the region first so measured writes are overwrites, not allocations.
  await windows(conn, 'x-iops-total=100000', 1024, 1);
  const m = await windows(conn, `x-iops-total=${max}`, max * 6, 6);
  const b = await windows(
    conn,
    `x-iops-total=${max},x-iops-total-max=${burst},x-iops-total-max-length=${burstSeconds}`,
    burst * burstSeconds,
    burstSeconds + 2,
  );
  // Whole seconds only: the first (queue filling) and last (queue draining) windows are partial.
  const full = m.slice(1, 5);
  const inBurst = b.slice(1, burstSeconds - 1);
  return {
    maxAccuracy: mean(full) / max,
    burstAccuracy: mean(inBurst) / burst,
    maxWindows: m,
    burstWindows: b,
  };
}
