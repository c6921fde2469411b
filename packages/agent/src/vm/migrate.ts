import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import { withPrivateDir } from '../host/secrets.js';
import { diskXml } from '../domain/disk-xml.js';
import type { AgentDiskSpec } from '../types.js';
import type { Virsh } from '../virsh/virsh.js';

export interface MigrateRequest {
  readonly vm: string;
  /** The destination's libvirt as this host reaches it (`qemu+tls://dest/system`, or a socket URI). */
  readonly destUri: string;
  /** Where QEMU sends the guest's memory (`tcp://address:port`); libvirt chooses when absent. */
  readonly migrateUri?: string;
  /**
   * The VM's file disks sit in a directory every host sees (NFS) that libvirt cannot know is
   * shared: it refuses such a migration unless told (VIR_MIGRATE_UNSAFE). Only for shared pools.
   */
  readonly unsafe: boolean;
  /**
   * The network disks as the destination opens them (its iSCSI initiator name, its cephx user and
   * secret): each replaces that disk's source in the definition the destination gets.
   */
  readonly disks?: readonly AgentDiskSpec[];
  readonly timeoutMs?: number;
}

const SOURCE = /<source\b[^>]*\/>|<source\b[\s\S]*?<\/source>/;

/**
 * The domain's XML with each named disk's `<source>` (and any `<auth>` beside it) replaced by the
 * one the destination needs, rendered by the same code that defines disks (diskXml: every value
 * escaped). Everything else (addresses, serials, targets) stays as the running guest has it.
 */
export function withDestinationSources(xml: string, disks: readonly AgentDiskSpec[]): string {
  let out = xml;
  for (const disk of disks) {
    const fresh = SOURCE.exec(diskXml(disk))?.[0];
    if (!fresh) throw new StrataError('INTERNAL', { reason: `no source rendered for ${disk.target}` });
    let found = false;
    out = out.replace(/<disk\b[\s\S]*?<\/disk>/g, (block) => {
      if (!new RegExp(`<target dev=['"]${disk.target}['"]`).test(block)) return block;
      found = true;
      return block.replace(/<auth\b[\s\S]*?<\/auth>\s*/g, '').replace(SOURCE, () => fresh);
    });
    if (!found)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'disks',
        reason: `the VM has no disk ${disk.target}`,
      });
  }
  return out;
}

/**
 * Live-migrates a running VM to another host's libvirt, with a destination definition (running and
 * persistent) in which the network disks open as the destination; the source's definition is
 * removed once the guest runs there. Answers how long it took.
 */
export async function migrateVm(virsh: Virsh, req: MigrateRequest): Promise<{ tookMs: number }> {
  const started = performance.now();
  const xml = await virsh.run(['dumpxml', '--migratable', '--domain', req.vm], { vm: req.vm });
  const destXml = withDestinationSources(xml, req.disks ?? []);
  await withPrivateDir(async (dir) => {
    const path = join(dir, 'destination.xml');
    await writeFile(path, destXml, { mode: 0o600 });
    const args = [
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--xml',
      path,
      '--persistent-xml',
      path,
    ];
    if (req.unsafe) args.push('--unsafe');
    if (req.migrateUri) args.push('--migrateuri', req.migrateUri);
    args.push('--domain', req.vm, '--desturi', req.destUri);
    await virsh.run(args, { vm: req.vm, timeoutMs: req.timeoutMs ?? 600_000 });
  });
  return { tookMs: performance.now() - started };
}
