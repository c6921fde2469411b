import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StrataError, type DiskSource } from '@strata/core';
import { hostPort } from '../domain/disk-xml.js';
import { checkServedPath, type FileRoots } from '../files/roots.js';
import { withPrivateDir } from '../host/secrets.js';
import type { Virsh } from '../virsh/virsh.js';

const run = promisify(execFile);

/** Doubles commas: the escape of QEMU's key=value option syntax. */
const q = (v: string | number): string => String(v).replace(/,/g, ',,');

/**
 * QEMU's options for one volume as a guest's disk opens it (file, libiscsi with the initiator name
 * and CHAP, librbd with cephx). A secret the source names is read from this host's libvirt
 * (base64, as `secret-get-value` prints it) into a 0600 file: never argv.
 */
export async function imageOpts(
  virsh: Virsh,
  served: FileRoots,
  s: DiskSource,
  dir: string,
  id: string,
): Promise<{ objects: string[]; opts: string }> {
  const secretObject = async (uuid: string): Promise<string[]> => {
    const value = (await virsh.run(['secret-get-value', '--secret', uuid])).trim();
    const path = join(dir, id);
    await writeFile(path, value, { mode: 0o600 });
    return ['--object', `secret,id=${id},file=${q(path)},format=base64`];
  };
  switch (s.kind) {
    case 'file': {
      const path = await checkServedPath(served, s.path);
      return {
        objects: [],
        opts: [`driver=${s.format}`, 'file.driver=file', `file.filename=${q(path)}`].join(','),
      };
    }
    case 'iscsi': {
      const { host, port } = hostPort(s.portal, 3260);
      const opts = [
        'driver=raw',
        'file.driver=iscsi',
        'file.transport=tcp',
        `file.portal=${q(`${host}:${port}`)}`,
        `file.target=${q(s.iqn)}`,
        `file.lun=${s.lun}`,
        ...(s.initiatorIqn !== undefined ? [`file.initiator-name=${q(s.initiatorIqn)}`] : []),
      ];
      if (!s.chap) return { objects: [], opts: opts.join(',') };
      opts.push(`file.user=${q(s.chap.username)}`, `file.password-secret=${id}`);
      return { objects: await secretObject(s.chap.secretUuid), opts: opts.join(',') };
    }
    case 'rbd': {
      const opts = ['driver=raw', 'file.driver=rbd', `file.pool=${q(s.pool)}`, `file.image=${q(s.image)}`];
      s.monitors.forEach((m, i) => {
        const { host, port } = hostPort(m, 3300);
        opts.push(`file.server.${i}.host=${q(host)}`, `file.server.${i}.port=${port}`);
      });
      if (!s.auth) return { objects: [], opts: opts.join(',') };
      opts.push(`file.user=${q(s.auth.username)}`, `file.key-secret=${id}`);
      return { objects: await secretObject(s.auth.secretUuid), opts: opts.join(',') };
    }
  }
}

/**
 * A stopped disk's bytes onto a destination created beforehand (`qemu-img convert -n`: the
 * destination keeps its format and size); a qcow2 source is read through its whole chain.
 * Idempotent: a replay writes the same bytes again.
 */
export async function convertDisk(
  virsh: Virsh,
  served: FileRoots,
  from: DiskSource,
  to: DiskSource,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ tookMs: number }> {
  const t0 = performance.now();
  await withPrivateDir(async (dir) => {
    const src = await imageOpts(virsh, served, from, dir, 'src0');
    const dst = await imageOpts(virsh, served, to, dir, 'dst0');
    const args = [
      'convert',
      '-n',
      ...src.objects,
      ...dst.objects,
      '--image-opts',
      src.opts,
      '--target-image-opts',
      dst.opts,
    ];
    try {
      await run('qemu-img', args, { signal, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    } catch (e) {
      throw new StrataError(
        'FILE_OPERATION_FAILED',
        {
          operation: 'qemu-img convert',
          path: '',
          reason: ((e as { stderr?: string }).stderr || (e as Error).message).trim(),
        },
        { cause: e },
      );
    }
  });
  return { tookMs: performance.now() - t0 };
}
