import { access } from 'node:fs/promises';
import { arch, cpus, hostname, networkInterfaces, totalmem } from 'node:os';
import type { HostFacts } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';

export const AGENT_VERSION = '0.1.0';
const QEMU_MODULES = '/usr/lib/x86_64-linux-gnu/qemu';

async function present(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Parses `virsh version` into the libvirt library and running QEMU versions. */
export function parseVersions(text: string): { libvirt: string; qemu: string } {
  return {
    libvirt: /Using library: libvirt ([\d.]+)/.exec(text)?.[1] ?? 'unknown',
    qemu: /Running hypervisor: QEMU ([\d.]+)/.exec(text)?.[1] ?? 'unknown',
  };
}

async function onPath(binary: string): Promise<boolean> {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (await present(`${dir}/${binary}`)) return true;
  }
  return false;
}

/**
 * The adaptors this host can attach, asked of the host rather than assumed: QEMU's iSCSI and RBD
 * block modules (qemu-block-extra), and a kernel initiator (iscsiadm) for the host variant.
 */
export async function supportedAdaptors(): Promise<string[]> {
  const out = ['file'];
  if (await present(`${QEMU_MODULES}/block-iscsi.so`)) out.push('iscsi-qemu');
  if ((await onPath('iscsiadm')) && (await present('/sys/module/iscsi_tcp').catch(() => false)))
    out.push('iscsi-host');
  if (await present(`${QEMU_MODULES}/block-rbd.so`)) out.push('rbd');
  return out;
}

function primaryAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}

/** What the agent registers: CPU, memory, versions, initiator name and adaptors. */
export async function collectHostFacts(virsh: Virsh, iscsiInitiator: string | null): Promise<HostFacts> {
  const versions = parseVersions(await virsh.run(['version'], { timeoutMs: 15_000 }));
  return {
    hostname: hostname(),
    address: primaryAddress(),
    arch: arch(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    libvirtVersion: versions.libvirt,
    qemuVersion: versions.qemu,
    iscsiInitiator,
    adaptors: await supportedAdaptors(),
    agentVersion: AGENT_VERSION,
  };
}
