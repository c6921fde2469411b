import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listedSource, StrataError } from '@strata/core';
import { diskXml } from '../domain/disk-xml.js';
import { withPrivateDir } from '../host/secrets.js';
import type { BlockJobs } from '../snapshots/block-jobs.js';
import { parseJobInfo } from '../snapshots/block-jobs.js';
import type { AgentDiskSpec } from '../types.js';
import type { Virsh } from '../virsh/virsh.js';
import { blockList } from '../vm/domain-state.js';

export interface CopyResult {
  readonly copied: boolean;
  readonly tookMs: number;
  readonly readyMs?: number;
  readonly pivotMs?: number;
}

/** The block job on a disk (its percentage), or undefined: libvirt 9 answers none as an error. */
async function jobInfo(virsh: Virsh, vm: string, target: string): Promise<number | undefined> {
  try {
    return parseJobInfo(
      await virsh.run(['blockjob', '--domain', vm, '--path', target, '--info'], { vm, target }),
    );
  } catch (e) {
    if (/does not have an active block job/i.test((e as Error).message)) return undefined;
    throw e;
  }
}

/**
 * Moves a running disk onto the destination `disk` describes (same target). A copy an earlier run
 * left unfinished is aborted first (the disk stays where it is); then a disk already on the
 * destination is left as it is (a replay after a crash), else the destination is written whole
 * again from the live disk.
 */
export async function copyDisk(
  virsh: Virsh,
  jobs: BlockJobs,
  vm: string,
  disk: AgentDiskSpec,
  timeoutMs?: number,
): Promise<CopyResult> {
  const t0 = performance.now();
  if (disk.source.kind === 'block' || disk.source.kind === 'iscsi-host')
    throw new StrataError('INVALID_ARGUMENT', { field: 'disk.source', reason: 'a copy goes to a volume' });
  // Read at once, each a virsh round trip: a leftover job, where the disk is, the saved definition
  // (which the copy does not change). A leftover job means the disk never pivoted: the list holds.
  const [info, disks, saved] = await Promise.all([
    jobInfo(virsh, vm, disk.target),
    blockList(virsh, vm),
    virsh.run(['dumpxml', '--inactive', '--domain', vm], { vm }),
  ]);
  const address = savedAddress(saved, disk.target);
  if (info !== undefined)
    await virsh.run(['blockjob', '--domain', vm, '--path', disk.target, '--abort'], {
      vm,
      target: disk.target,
      timeoutMs: 120_000,
    });
  const live = disks.find((d) => d.target === disk.target);
  if (!live) throw new StrataError('DISK_NOT_ATTACHED', { vm, target: disk.target });
  // The destination is described by a disk element (no iotune: QEMU's limits stay on the device);
  // the saved definition gets the limits QEMU must enforce there, so a start after this has them.
  const xml = diskXml({ volumeId: disk.volumeId, target: disk.target, source: disk.source });
  const savedXml = diskXml({
    volumeId: disk.volumeId,
    target: disk.target,
    source: disk.source,
    ...(disk.iotune && { iotune: disk.iotune }),
  });
  if (live.source === listedSource(disk.source)) {
    // a replay after a crash between the pivot and the saved definition's update
    await persistSource(virsh, vm, disk.target, savedXml, address);
    return { copied: false, tookMs: performance.now() - t0 };
  }
  // The saved definition is rewritten while the mirror runs (off the critical path). A copy that
  // fails puts the saved disk back; a crash in between is mended by whatever runs next on this
  // disk: a replay saves the destination, the job's undo (a copy back) saves the source.
  const persisting = persistSource(virsh, vm, disk.target, savedXml, address).then(
    () => undefined,
    (e: unknown) => e,
  );
  let r: Awaited<ReturnType<BlockJobs['copy']>>;
  try {
    r = await withPrivateDir(async (dir) => {
      const path = join(dir, 'dest.xml');
      await writeFile(path, xml, { mode: 0o600 });
      return jobs.copy(vm, disk.target, path, timeoutMs);
    });
  } catch (e) {
    await persisting;
    const original = savedDisk(saved, disk.target);
    if (original) await persistSource(virsh, vm, disk.target, original, undefined).catch(() => undefined);
    throw e;
  }
  // pivoted, the saved definition not rewritten: the step fails, and its replay saves it again
  const failed = await persisting;
  if (failed !== undefined) throw failed;
  return {
    copied: true,
    tookMs: performance.now() - t0,
    ...(r.readyMs !== undefined && { readyMs: r.readyMs }),
    ...(r.pivotMs !== undefined && { pivotMs: r.pivotMs }),
  };
}

/**
 * The saved definition names the disk's new source too (a transient block job leaves it on the
 * old one): its disk element is replaced, keeping the device address the guest knows it by, with
 * the limits the caller gives (the live ones are read back, and set when they differ, after it).
 */
async function persistSource(
  virsh: Virsh,
  vm: string,
  target: string,
  xml: string,
  address: string | undefined,
): Promise<void> {
  const withAddress = address ? xml.replace(/<\/disk>\s*$/, `${address}</disk>`) : xml;
  await withPrivateDir(async (dir) => {
    const path = join(dir, 'saved.xml');
    await writeFile(path, withAddress, { mode: 0o600 });
    await virsh.run(['update-device', '--domain', vm, '--file', path, '--config'], { vm, target });
  });
}

/** The saved disk element at `target`, or undefined. */
export function savedDisk(domainXml: string, target: string): string | undefined {
  for (const m of domainXml.matchAll(/<disk\b[\s\S]*?<\/disk>/g)) {
    const dev = /<target\b[^>]*\bdev=(['"])([^'"]+)\1/.exec(m[0])?.[2];
    if (dev === target) return m[0];
  }
  return undefined;
}

/** The `<address/>` of the saved disk at `target`, or undefined. */
export function savedAddress(domainXml: string, target: string): string | undefined {
  const disk = savedDisk(domainXml, target);
  return disk ? /<address\b[^>]*\/>/.exec(disk)?.[0] : undefined;
}
