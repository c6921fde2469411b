import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuImageArgs, run, type CephCluster } from '@strata/testing';

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
  // Ceph 16 prints two JSON arrays (addresses, then ranges): read the addresses from both
  const out = await run('ceph', [...admin(c), 'osd', 'blocklist', 'ls', '--format', 'json']);
  return [...out.stdout.matchAll(/"addr":"([^"]+)"/g)].map((m) => m[1] ?? '');
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
 * Where the checks write: far past what the test guest's own writer reaches (it writes raw
 * records from sector 0 of every data disk, a few KiB a second).
 */
export const PROBE_OFFSET = 60 * 1024 * 1024;

/**
 * One write of 4 KiB of `pattern` at PROBE_OFFSET, issued by the domain's own QEMU on one of its
 * disks (HMP qemu-io: for tests only, it taints the domain; a virtio-blk-pci device's block
 * backend hangs off its inner `virtio-backend`). qemu-io prints to QEMU's own stdout, not the
 * monitor: whether the bytes landed is read from the backend (rbdHolds, lunHolds). Answers
 * `returned`, QEMU's error, or `no answer` when it did not return within `timeoutMs` (a fenced
 * iSCSI or RBD client may wait for ever).
 */
export function qemuWrite(
  uri: string,
  vm: string,
  alias: string,
  pattern: number,
  timeoutMs = 20_000,
): Promise<string> {
  const cmd = `qemu-io -d ${alias}/virtio-backend "write -P ${pattern} ${PROBE_OFFSET} 4096"`;
  const args = ['-c', uri, 'qemu-monitor-command', vm, '--hmp', cmd];
  return new Promise((resolve) => {
    execFile('virsh', args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && (error as { killed?: boolean }).killed) resolve('no answer');
      else if (error) resolve(`${stderr}`.trim() || error.message);
      else resolve(stdout.trim() || 'returned');
    });
  });
}

/** Whether the image's 4 KiB at PROBE_OFFSET all hold `pattern`, read with the admin key (read-only). */
export async function rbdHolds(c: CephCluster, image: string, pattern: number): Promise<boolean> {
  return /^read 4096\/4096/m.test(await rbdRead(c, image, pattern));
}

/** What qemu-io says reading the image's 4 KiB at PROBE_OFFSET expecting `pattern` (read-only). */
export async function rbdRead(c: CephCluster, image: string, pattern: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-fence-'));
  try {
    const args = await qemuImageArgs(
      {
        adaptor: 'rbd',
        pool: c.pool,
        image,
        monitors: c.monitors,
        user: c.adminName.replace(/^client\./, ''),
        secret: { usage: 'fence-test', value: c.adminKey },
      },
      dir,
    );
    const out = await run('qemu-io', ['-r', ...args, '-c', `read -P ${pattern} ${PROBE_OFFSET} 4096`]).catch(
      (e: { stdout?: string; message?: string }) => ({ stdout: `${e.stdout ?? ''} ${e.message ?? ''}` }),
    );
    return out.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a tgt volume's 4 KiB at PROBE_OFFSET all hold `pattern`, read from its backing file. */
export async function lunHolds(tgtDir: string, volumeId: string, pattern: number): Promise<boolean> {
  const f = await open(join(tgtDir, 'volumes', `${volumeId}.raw`), 'r');
  try {
    const buf = Buffer.alloc(4096);
    await f.read(buf, 0, 4096, PROBE_OFFSET);
    return buf.every((b) => b === pattern);
  } finally {
    await f.close();
  }
}
