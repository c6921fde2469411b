import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionDetails } from '@strata/core';
import { run } from '../tgt/run.js';

/** Doubles commas: the escape of QEMU's key=value option syntax. */
const q = (v: string | number): string => String(v).replace(/,/g, ',,');

/**
 * QEMU's own view of a volume, built from the driver's connection details: the same client a
 * guest's disk uses (file, libiscsi with initiator name and CHAP, librbd with cephx). Secrets go
 * through a 0600 file, never the command line.
 */
export async function qemuImageArgs(conn: ConnectionDetails, dir: string, prefix = ''): Promise<string[]> {
  // `prefix` nests the image under another block driver (e.g. 'file.' below a throttle node).
  const nest = (opts: readonly string[]): string => opts.map((o) => prefix + o).join(',');
  // A cephx key is already base64 (as libvirt's ceph secrets hold it): QEMU must decode it.
  const secret = async (value: string, format: 'raw' | 'base64' = 'raw'): Promise<string[]> => {
    const path = join(dir, 'secret');
    await writeFile(path, value, { mode: 0o600 });
    return ['--object', `secret,id=sec0,file=${q(path)},format=${format}`];
  };
  switch (conn.adaptor) {
    case 'file':
      return [
        '--image-opts',
        nest([`driver=${conn.format}`, 'file.driver=file', `file.filename=${q(conn.path)}`]),
      ];
    case 'iscsi': {
      const [host, port] = conn.portal.split(':');
      const opts = [
        'driver=raw',
        'file.driver=iscsi',
        'file.transport=tcp',
        `file.portal=${q(`${host ?? ''}:${port ?? '3260'}`)}`,
        `file.target=${q(conn.iqn)}`,
        `file.lun=${conn.lun}`,
        `file.initiator-name=${q(conn.initiator)}`,
      ];
      const pre = conn.chap ? await secret(conn.chap.secret.value) : [];
      if (conn.chap) opts.push(`file.user=${q(conn.chap.username)}`, 'file.password-secret=sec0');
      return [...pre, '--image-opts', nest(opts)];
    }
    case 'rbd': {
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
        opts.push(
          `file.server.${i}.host=${q(m.slice(0, at))}`,
          `file.server.${i}.port=${q(m.slice(at + 1))}`,
        );
      });
      return [...(await secret(conn.secret.value, 'base64')), '--image-opts', nest(opts)];
    }
  }
}

async function withArgs<T>(conn: ConnectionDetails, fn: (args: string[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-qio-'));
  try {
    return await fn(await qemuImageArgs(conn, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `len` bytes of `pattern` at `offset` through QEMU's client. */
export function writePattern(
  conn: ConnectionDetails,
  pattern: number,
  offset: number,
  len: number,
): Promise<void> {
  return withArgs(conn, async (args) => {
    await run('qemu-io', [...args, '-c', `write -P ${pattern} ${offset} ${len}`]);
  });
}

/** True when the bytes at offset all equal `pattern` (qemu-io's own verification). */
export function hasPattern(
  conn: ConnectionDetails,
  pattern: number,
  offset: number,
  len: number,
): Promise<boolean> {
  return withArgs(conn, async (args) => {
    try {
      const out = await run('qemu-io', [...args, '-c', `read -P ${pattern} ${offset} ${len}`]);
      return !/verification failed/i.test(out.stdout + out.stderr);
    } catch (e) {
      if (/verification failed/i.test(String((e as { stdout?: string }).stdout ?? ''))) return false;
      throw e;
    }
  });
}

/** Opens the volume with `qemu-img info`; answers null on success or QEMU's error text. */
export function openError(conn: ConnectionDetails): Promise<string | null> {
  return withArgs(conn, async (args) => {
    try {
      await run('qemu-img', ['info', '--output=json', ...args], 30_000);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  });
}
