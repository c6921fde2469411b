import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '@strata/core';
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

async function createSnapshot(virsh: Virsh, vm: string, xml: string, flags: string[]): Promise<number> {
  return withPrivateDir(async (dir) => {
    const path = join(dir, 'snapshot.xml');
    await writeFile(path, xml, { mode: 0o600 });
    const t0 = performance.now();
    await virsh.run(['snapshot-create', '--domain', vm, '--xmlfile', path, ...flags], {
      vm,
      timeoutMs: 120_000,
    });
    return performance.now() - t0;
  });
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
  options: { readonly quiesce?: boolean } = {},
): Promise<DiskSnapshotResult> {
  if (overlays.length === 0)
    throw new StrataError('INVALID_ARGUMENT', { field: 'disks', reason: 'name at least one disk' });
  const started = performance.now();
  const [targets] = await Promise.all([targetsOf(vm), ensureDirectories(overlays.map((o) => o.overlayPath))]);
  const name = `strata-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const xml = snapshotXml(name, targets, overlays);
  const flags = ['--disk-only', '--atomic', '--no-metadata'];
  if (options.quiesce === true) flags.push('--quiesce');
  const snapshotMs = await createSnapshot(virsh, vm, xml, flags);
  return { overlays, snapshotMs, tookMs: performance.now() - started };
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
  const snapshotMs = await createSnapshot(virsh, vm, xml, ['--atomic', '--no-metadata']);
  return { overlays, memoryPath, snapshotMs, tookMs: performance.now() - started };
}
