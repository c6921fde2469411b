import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import type { EventStream } from '../events/event-stream.js';
import { withPrivateDir } from '../host/secrets.js';
import type { Virsh } from '../virsh/virsh.js';
import { domState } from '../vm/domain-state.js';
import { startVm, stopVm } from '../vm/lifecycle.js';
import { pointFileSources } from './restore-xml.js';

const run = promisify(execFile);

export interface RevertDisk {
  /** The overlay the disk runs on now (made by the snapshot). */
  readonly overlayPath: string;
  /** The image frozen at the snapshot (the overlay's backing file). */
  readonly snapshotImage: string;
  readonly snapshotFormat?: 'qcow2' | 'raw';
}

export interface RevertResult {
  readonly stopMs: number;
  readonly resetMs: number;
  readonly startMs: number;
  readonly tookMs: number;
  /** How the VM came back: restored from a memory file, booted, or left stopped. */
  readonly resumed: 'restored' | 'booted' | 'stopped';
}

/**
 * Revert to an external snapshot by orchestration (libvirt 9.0 cannot snapshot-revert external
 * snapshots): stop the VM, replace each overlay with an empty one over the snapshot image (the
 * domain keeps pointing at the same overlay paths), then either `virsh restore` the memory file
 * taken with the snapshot or boot the VM again. The memory file's saved XML names the disks as
 * they were before the snapshot (the snapshot images): it is re-pointed at the overlays, so the
 * restored guest never writes to a snapshot image.
 */
export async function revertExternal(
  virsh: Virsh,
  events: EventStream,
  vm: string,
  disks: readonly RevertDisk[],
  options: { readonly memoryPath?: string; readonly start?: boolean } = {},
): Promise<RevertResult> {
  const t0 = performance.now();
  let state = 'shut off';
  try {
    state = await domState(virsh, vm);
  } catch (err) {
    // a domain restored from a memory file is transient: if it is gone, there is nothing to stop
    if (!isStrataError(err, 'VM_NOT_FOUND') || options.memoryPath === undefined) throw err;
  }
  if (state !== 'shut off') await stopVm(virsh, events, vm, 0);
  const stopMs = performance.now() - t0;
  const r0 = performance.now();
  for (const d of disks) {
    await rm(d.overlayPath, { force: true });
    await run(
      'qemu-img',
      [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-F',
        d.snapshotFormat ?? 'qcow2',
        '-b',
        d.snapshotImage,
        d.overlayPath,
      ],
      { timeout: 60_000 },
    );
  }
  const resetMs = performance.now() - r0;
  const s0 = performance.now();
  let resumed: RevertResult['resumed'] = 'stopped';
  if (options.memoryPath !== undefined) {
    const saved = await virsh.run(['save-image-dumpxml', '--file', options.memoryPath, '--security-info'], {
      vm,
    });
    const xml = pointFileSources(saved, new Map(disks.map((d) => [d.snapshotImage, d.overlayPath])));
    await withPrivateDir(async (dir) => {
      const path = join(dir, 'domain.xml');
      await writeFile(path, xml, { mode: 0o600 });
      await virsh.run(['restore', '--file', options.memoryPath!, '--xml', path, '--running'], {
        vm,
        timeoutMs: 300_000,
      });
    });
    resumed = 'restored';
  } else if (options.start ?? true) {
    await startVm(virsh, vm);
    resumed = 'booted';
  }
  return { stopMs, resetMs, startMs: performance.now() - s0, tookMs: performance.now() - t0, resumed };
}
