import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import { withPrivateDir } from '../host/secrets.js';
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
  /** This host's iSCSI initiator name and the destination's: the disks log in as the destination. */
  readonly initiator?: { readonly from: string; readonly to: string };
  readonly timeoutMs?: number;
}

const IQN = /^[A-Za-z0-9.:-]+$/;

/**
 * The domain's XML with every iSCSI source's `<initiator><iqn name=…/>` naming `from` changed to
 * `to`: the destination opens each LUN under its own name, which its ACL entry admits.
 */
export function rewriteInitiator(xml: string, from: string, to: string): string {
  for (const [field, v] of [
    ['initiator.from', from],
    ['initiator.to', to],
  ] as const)
    if (!IQN.test(v)) throw new StrataError('INVALID_ARGUMENT', { field, reason: 'not an iSCSI name' });
  return xml.replace(
    /<iqn name=(['"])([^'"]*)\1(\s*\/>)/g,
    (whole, quote: string, name: string, end: string) =>
      name === from ? `<iqn name=${quote}${to}${quote}${end}` : whole,
  );
}

/**
 * Live-migrates a running VM to another host's libvirt, with a destination definition (running and
 * persistent) in which the disks name the destination's initiator; the source's definition is
 * removed once the guest runs there. Answers how long it took.
 */
export async function migrateVm(virsh: Virsh, req: MigrateRequest): Promise<{ tookMs: number }> {
  const started = performance.now();
  const xml = await virsh.run(['dumpxml', '--migratable', '--domain', req.vm], { vm: req.vm });
  const destXml = req.initiator ? rewriteInitiator(xml, req.initiator.from, req.initiator.to) : xml;
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
