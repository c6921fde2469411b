import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StrataError } from '@strata/core';
import { hostPort } from '../domain/disk-xml.js';
import type { BlockDiskSource, HostIscsiDiskSource } from '../types.js';

const run = promisify(execFile);

/** The udev path of a LUN logged in through the kernel initiator. */
export function byPathFor(s: HostIscsiDiskSource): string {
  const { host, port } = hostPort(s.portal, 3260);
  return `/dev/disk/by-path/ip-${host}:${port}-iscsi-${s.iqn}-lun-${s.lun}`;
}

async function iscsiadm(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('iscsiadm', args, { timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new StrataError('DISK_ADAPTOR_UNAVAILABLE', {
        adaptor: 'iscsi-host',
        reason: 'iscsiadm (open-iscsi) is not installed',
      });
    }
    throw new StrataError(
      'LIBVIRT_FAILED',
      { command: `iscsiadm ${args[0] ?? ''}`, reason: (e.stderr ?? e.message).trim() },
      { cause: err },
    );
  }
}

/** Whether this host has a kernel iSCSI initiator the host adaptor can use. */
export async function hostInitiatorAvailable(): Promise<{ ok: boolean; reason: string }> {
  try {
    await run('iscsiadm', ['--version'], { timeout: 10_000 });
  } catch {
    return { ok: false, reason: 'iscsiadm (open-iscsi) is not installed' };
  }
  try {
    await access('/sys/module/iscsi_tcp');
  } catch {
    return { ok: false, reason: 'the iscsi_tcp kernel module is not loaded (no kernel initiator)' };
  }
  return { ok: true, reason: '' };
}

/**
 * Host-initiator adaptor: discovery, CHAP settings on the node record, login, then the LUN's
 * /dev/disk/by-path block device (attached raw; never a filesystem on the LUN). iscsiadm takes
 * the CHAP password only as an argument; it lives in argv for the one `-o update` call.
 */
export async function loginHostIscsi(s: HostIscsiDiskSource, waitMs = 30_000): Promise<BlockDiskSource> {
  const { host, port } = hostPort(s.portal, 3260);
  const portal = `${host}:${port}`;
  await iscsiadm(['-m', 'discovery', '-t', 'sendtargets', '-p', portal]);
  const node = ['-m', 'node', '-T', s.iqn, '-p', portal];
  if (s.chap !== undefined) {
    await iscsiadm([...node, '-o', 'update', '-n', 'node.session.auth.authmethod', '-v', 'CHAP']);
    await iscsiadm([...node, '-o', 'update', '-n', 'node.session.auth.username', '-v', s.chap.username]);
    await iscsiadm([...node, '-o', 'update', '-n', 'node.session.auth.password', '-v', s.chap.password]);
  }
  try {
    await iscsiadm([...node, '--login']);
  } catch (err) {
    if (!/already present|session exists/i.test((err as Error).message)) throw err;
  }
  const path = byPathFor(s);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await access(path);
      return { kind: 'block', path };
    } catch {
      if (Date.now() > deadline)
        throw new StrataError('TIMEOUT', { what: `block device ${path}`, ms: waitMs });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function logoutHostIscsi(s: HostIscsiDiskSource): Promise<void> {
  const { host, port } = hostPort(s.portal, 3260);
  try {
    await iscsiadm(['-m', 'node', '-T', s.iqn, '-p', `${host}:${port}`, '--logout']);
  } catch (err) {
    if (!/No matching sessions/i.test((err as Error).message)) throw err;
  }
}
