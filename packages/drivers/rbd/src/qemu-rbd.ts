import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RbdConnection } from '@strata/core';

/**
 * QEMU's librbd client opened exactly as a host would open the volume: the host's cephx user,
 * its key through a 0600 secret file (format=base64: a cephx key is already base64, as libvirt's
 * ceph secrets hold it), and the msgr v2 monitors. For tests and diagnostics.
 */
export async function withRbdImageOpts<T>(
  conn: RbdConnection,
  fn: (args: string[]) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-rbd-'));
  try {
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, conn.secret.value, { mode: 0o600 });
    const q = (v: string): string => v.replace(/,/g, ',,');
    const opts = [
      'driver=raw',
      'file.driver=rbd',
      `file.pool=${q(conn.pool)}`,
      `file.image=${q(conn.image)}`,
      `file.user=${q(conn.user)}`,
      'file.key-secret=sec0',
    ];
    conn.monitors.forEach((m, i) => {
      const at = m.lastIndexOf(':');
      opts.push(`file.server.${i}.host=${q(m.slice(0, at))}`, `file.server.${i}.port=${q(m.slice(at + 1))}`);
    });
    return await fn([
      '--object',
      `secret,id=sec0,file=${q(keyFile)},format=base64`,
      '--image-opts',
      opts.join(','),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function qemuIo(args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('qemu-io', args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ ok: !error, out: `${stdout}${stderr}` }),
    );
  });
}

/** Writes `len` bytes of `pattern` at `offset`; throws QEMU's message on failure. */
export async function rbdWrite(conn: RbdConnection, pattern: number, offset = 0, len = 65536): Promise<void> {
  const r = await withRbdImageOpts(conn, (a) => qemuIo([...a, '-c', `write -P ${pattern} ${offset} ${len}`]));
  if (!r.ok) throw new Error(r.out.trim());
}

/** True when every byte in the range equals `pattern`. */
export async function rbdHolds(
  conn: RbdConnection,
  pattern: number,
  offset = 0,
  len = 65536,
): Promise<boolean> {
  const r = await withRbdImageOpts(conn, (a) => qemuIo([...a, '-c', `read -P ${pattern} ${offset} ${len}`]));
  if (/verification failed/i.test(r.out)) return false;
  if (!r.ok) throw new Error(r.out.trim());
  return true;
}

/** Null when QEMU opens the image, else its error text. */
export async function rbdOpenError(conn: RbdConnection): Promise<string | null> {
  const r = await withRbdImageOpts(conn, (a) => qemuIo([...a, '-c', 'read 0 512']));
  return r.ok ? null : r.out.trim();
}
