import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { cpus, hostname, networkInterfaces, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { AgentStateReport, DomainRunState, HostFacts } from '@strata/core';

const run = promisify(execFile);
const URI = 'qemu:///system';
const AGENT_VERSION = '0.1.0';

async function virsh(args: readonly string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-c', URI, ...args], { timeout: 15_000 });
  return stdout;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function firstAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Host facts read straight from the system (libvirt through `virsh version`). The channel's own
 * source, so an agent can register before the KVM core answers `host.facts` itself.
 */
export async function readBasicHostFacts(options: { readonly libvirt?: boolean } = {}): Promise<HostFacts> {
  // A storage-only node has no libvirt to ask (and must not wait for one).
  const version = options.libvirt === false ? '' : await virsh(['version']).catch(() => '');
  const libvirtVersion = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '';
  const qemuVersion = /Running hypervisor: QEMU ([\d.]+)/.exec(version)?.[1] ?? '';
  const initiator = await readFile('/etc/iscsi/initiatorname.iscsi', 'utf8').then(
    (text) => /^InitiatorName=(\S+)/m.exec(text)?.[1] ?? null,
    () => null,
  );
  const qemuModules = '/usr/lib/x86_64-linux-gnu/qemu';
  const adaptors = ['file'];
  if (await exists(`${qemuModules}/block-iscsi.so`)) adaptors.push('iscsi-qemu');
  if (await exists('/usr/sbin/iscsiadm')) adaptors.push('iscsi-host');
  if (await exists(`${qemuModules}/block-rbd.so`)) adaptors.push('rbd');
  return {
    hostname: hostname(),
    address: firstAddress(),
    arch: process.arch,
    cpus: cpus().length,
    memoryBytes: totalmem(),
    libvirtVersion,
    qemuVersion,
    iscsiInitiator: initiator,
    adaptors,
    agentVersion: AGENT_VERSION,
  };
}

/** Domains and their states as libvirt has them now; frozen guests and block jobs come from the KVM core. */
export async function readBasicStateReport(): Promise<AgentStateReport> {
  const at = new Date().toISOString();
  // One name per line (names cannot hold newlines: validateName refuses control characters).
  const names = (await virsh(['list', '--all', '--name']).catch(() => ''))
    .split('\n')
    .filter((n) => n.length > 0);
  const domains = await Promise.all(
    names.map(async (name) => {
      const [state, uuid] = await Promise.all([
        virsh(['domstate', '--', name]).then(
          (s) => s.trim() as DomainRunState,
          () => 'unknown' as const,
        ),
        virsh(['domuuid', '--', name]).then(
          (s) => s.trim(),
          () => '',
        ),
      ]);
      return { name, uuid, state, disks: [] };
    }),
  );
  return { at, domains, frozenGuests: [], blockJobs: [] };
}
