import { execFile } from 'node:child_process';
import { run, type CephCluster } from '@strata/testing';

/** One tgt target as `tgtadm --op show --mode target` lists it: its ACLs and session initiators. */
export interface TargetView {
  readonly acls: readonly string[];
  readonly sessions: readonly string[];
}

/** The target of one volume (its IQN ends with the volume id), read from tgtd itself. */
export async function tgtTargetOf(volumeId: string): Promise<TargetView | null> {
  const out = (await run('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'target'])).stdout;
  const blocks = out.split(/^(?=Target \d+: )/m);
  const block = blocks.find((b) => new RegExp(`^Target \\d+: \\S+\\.${volumeId}\\n`).test(b));
  if (!block) return null;
  const acl = block.split('ACL information:')[1] ?? '';
  return {
    acls: acl
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
    sessions: [...block.matchAll(/Initiator: (\S+)/g)].map((m) => m[1] ?? ''),
  };
}

const admin = (c: CephCluster) => ['--conf', c.confPath, '--keyring', c.adminKeyringPath];

/** Watchers of one RBD image (`address` is ip:port/nonce: one client instance). */
export async function rbdWatchers(c: CephCluster, image: string): Promise<string[]> {
  const out = await run('rbd', [...admin(c), 'status', `${c.pool}/${image}`, '--format', 'json']);
  return (JSON.parse(out.stdout) as { watchers: Array<{ address: string }> }).watchers.map((w) => w.address);
}

export async function blocklisted(c: CephCluster): Promise<string[]> {
  const out = await run('ceph', [...admin(c), 'osd', 'blocklist', 'ls', '--format', 'json']);
  return (JSON.parse(out.stdout || '[]') as Array<{ addr: string }>).map((b) => b.addr);
}

/** The qdev id libvirt gave the domain's disk whose source names `needle` (an image, an IQN). */
export async function diskAlias(uri: string, vm: string, needle: string): Promise<string> {
  const xml = (await run('virsh', ['-c', uri, 'dumpxml', vm])).stdout;
  for (const disk of xml.split('<disk ').slice(1)) {
    const alias = /<alias name='([^']+)'/.exec(disk)?.[1];
    if (disk.includes(needle) && alias) return alias;
  }
  throw new Error(`no disk of ${vm} names ${needle}`);
}

/**
 * One write of 4 KiB at offset 0, issued by the domain's own QEMU on one of its disks (HMP
 * qemu-io: for tests only, it taints the domain; a virtio-blk-pci device's block backend hangs
 * off its inner `virtio-backend`). Answers what QEMU said, or `no answer` when the
 * write did not complete within `timeoutMs` (a fenced iSCSI or RBD client may wait forever).
 */
export function qemuWrite(uri: string, vm: string, alias: string, timeoutMs = 20_000): Promise<string> {
  const args = [
    '-c',
    uri,
    'qemu-monitor-command',
    vm,
    '--hmp',
    `qemu-io -d ${alias}/virtio-backend "write 0 4096"`,
  ];
  return new Promise((resolve) => {
    execFile('virsh', args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && (error as { killed?: boolean }).killed) resolve('no answer');
      else resolve(`${stdout}${stderr}`.trim() || (error?.message ?? ''));
    });
  });
}
