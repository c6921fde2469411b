import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '@strata/core';
import { boostHold } from '../guest/hold-boost.js';
import { withPrivateDir } from '../host/secrets.js';
import type { Virsh } from '../virsh/virsh.js';
import { snapshotXml, type OverlaySpec } from './snapshot-xml.js';

export interface DiskSnapshotResult {
  readonly overlays: readonly OverlaySpec[];
  /** Wall time of the libvirt call that cut the snapshot. */
  readonly snapshotMs: number;
  readonly tookMs: number;
}

export interface MemorySnapshotResult extends DiskSnapshotResult {
  readonly memoryPath: string;
}

/** Runs `snapshot-create` from an XML file already written: the call alone, timed. */
export async function createFromFile(
  virsh: Virsh,
  vm: string,
  path: string,
  flags: string[],
): Promise<number> {
  const t0 = performance.now();
  // urgent: a disk-only cut runs inside a hold (or quiesces itself); a memory one pauses the guest
  await virsh.run(['snapshot-create', '--domain', vm, '--xmlfile', path, ...flags], {
    vm,
    timeoutMs: 120_000,
    urgent: true,
  });
  return performance.now() - t0;
}

async function createSnapshot(virsh: Virsh, vm: string, xml: string, flags: string[]): Promise<number> {
  return withPrivateDir(async (dir) => createFromFile(virsh, vm, await writeXml(dir, xml), flags));
}

/** The snapshot XML in a private directory (it may name secrets' users): its path. */
export async function writeXml(dir: string, xml: string): Promise<string> {
  const path = join(dir, 'snapshot.xml');
  await writeFile(path, xml, { mode: 0o600 });
  return path;
}

/**
 * The directories the new files go in. The host's state directory (transient overlays, memory) is
 * made at install; a host set up by hand, or a state directory moved since, must not fail a cut.
 */
async function ensureDirectories(paths: readonly string[]): Promise<void> {
  for (const dir of new Set(paths.map((p) => dirname(p)))) await mkdir(dir, { recursive: true, mode: 0o755 });
}

/** Every disk target of the domain (DiskTargets): the ones not chosen are marked snapshot='no'. */
export type TargetsOf = (vm: string) => Promise<readonly string[]>;

export interface DiskOnlyOptions {
  /** libvirt's own quiesce: it freezes, cuts and thaws inside its call. */
  readonly quiesce?: boolean;
  /** Wraps the quiescing call (the freeze deadline's watchdog, armed before it: guest/fsfreeze.ts). */
  readonly guard?: (call: () => Promise<number>) => Promise<number>;
}

/**
 * Atomic disk-only external snapshot of the chosen disks (all at one instant), with no libvirt
 * metadata (libvirt 9.0 then never trips over the chain on later deletes). Optionally quiesced
 * through the guest agent. Other disks are untouched.
 */
export async function diskOnlySnapshot(
  virsh: Virsh,
  targetsOf: TargetsOf,
  vm: string,
  overlays: readonly OverlaySpec[],
  options: DiskOnlyOptions = {},
): Promise<DiskSnapshotResult> {
  const started = performance.now();
  const xml = await diskOnlyXml(targetsOf, vm, overlays);
  // libvirt's quiesce freezes the guest inside the call: its QEMU threads run boosted meanwhile
  const boost = options.quiesce === true ? await boostHold(vm) : null;
  const cut = () => createSnapshot(virsh, vm, xml, diskOnlyFlags(options.quiesce === true));
  try {
    const snapshotMs = await (options.quiesce === true && options.guard ? options.guard(cut) : cut());
    return { overlays, snapshotMs, tookMs: performance.now() - started };
  } finally {
    boost?.restore();
  }
}

export const diskOnlyFlags = (quiesce: boolean): string[] => [
  '--disk-only',
  '--atomic',
  '--no-metadata',
  ...(quiesce ? ['--quiesce'] : []),
];

/** The XML of a disk-only cut of the chosen disks, their overlay directories made: all but the call. */
export async function diskOnlyXml(
  targetsOf: TargetsOf,
  vm: string,
  overlays: readonly OverlaySpec[],
): Promise<string> {
  if (overlays.length === 0)
    throw new StrataError('INVALID_ARGUMENT', { field: 'disks', reason: 'name at least one disk' });
  const [targets] = await Promise.all([targetsOf(vm), ensureDirectories(overlays.map((o) => o.overlayPath))]);
  return snapshotXml(`strata-${Date.now()}-${randomBytes(3).toString('hex')}`, targets, overlays);
}

/**
 * Memory state to a file plus overlays on the chosen disks (one consistent point). The guest is
 * paused while its memory is written, then runs on. `virsh restore` of the file brings it back.
 */
export async function memorySnapshot(
  virsh: Virsh,
  targetsOf: TargetsOf,
  vm: string,
  memoryPath: string,
  overlays: readonly OverlaySpec[],
): Promise<MemorySnapshotResult> {
  const started = performance.now();
  const [targets] = await Promise.all([
    targetsOf(vm),
    ensureDirectories([memoryPath, ...overlays.map((o) => o.overlayPath)]),
  ]);
  const name = `strata-mem-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const xml = snapshotXml(name, targets, overlays, memoryPath);
  // the guest is paused while its memory is written: its QEMU threads run boosted meanwhile
  const boost = await boostHold(vm);
  try {
    const snapshotMs = await createSnapshot(virsh, vm, xml, ['--atomic', '--no-metadata']);
    return { overlays, memoryPath, snapshotMs, tookMs: performance.now() - started };
  } finally {
    boost.restore();
  }
}
