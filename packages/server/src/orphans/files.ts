import { basename, join } from 'node:path';
import type { HostFiles } from '../orchestration/host-files.js';
import { backingChain } from '../vmsnapshots/layers.js';
import { orphan, type Orphan } from './types.js';
import type { References } from './references.js';

/** A directory's files as the agent that serves it lists them; none (and a warning) when it cannot. */
async function listDir(files: HostFiles, dir: string, warnings: string[]): Promise<string[] | null> {
  try {
    return (await files.list(dir)) ?? [];
  } catch (e) {
    warnings.push(`host ${files.hostId} cannot list ${dir}: ${String(e)}`);
    return null;
  }
}

/** The agent that serves a pool's files; null (and a warning) when none is Up. */
export type PoolFilesOf = (poolId: string) => Promise<HostFiles>;

/** The directory of a qcow2 pool (`file:///srv/pool`), where every host of its cluster mounts it. */
export function poolDir(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' ? decodeURIComponent(u.pathname) : null;
  } catch {
    return null;
  }
}

/**
 * Layers in qcow2 pools named `<volume>.<anything>.qcow2` that no volume, no live snapshot part
 * and no layer built on them references. The volume's own `<volume>.qcow2` is the driver's and
 * is judged with the backend's volumes.
 */
export async function strayLayers(
  refs: References,
  filesOf: PoolFilesOf,
  warnings: string[],
): Promise<Orphan[]> {
  const out: Orphan[] = [];
  const volumes = new Map(refs.volumes.map((v) => [v.id, v]));
  for (const pool of refs.pools.filter((p) => p.provider === 'qcow2')) {
    const dir = poolDir(pool.url);
    if (!dir) continue;
    const files = await filesOf(pool.id).catch((e: unknown) => {
      warnings.push(`${String(e)}: no layer of pool ${pool.id} is judged`);
      return null;
    });
    if (!files) continue;
    const names = await listDir(files, dir, warnings);
    if (!names) continue;
    const candidates = names.filter((n) => /^[^.]+\..+\.qcow2$/.test(n));
    if (candidates.length === 0) continue;
    const used = new Set<string>();
    const roots = [
      ...refs.volumes
        .filter((v) => v.poolId === pool.id)
        .flatMap((v) => (v.backendRef ? [v.backendRef] : [])),
      ...[...refs.snapshotFiles].filter((f) => f.startsWith(`${dir}/`)),
    ];
    let readable = true;
    for (const r of new Set(roots)) {
      const chain = await backingChain(files, r).catch((e: unknown) => {
        warnings.push(`${(e as Error).message}: no layer of pool ${pool.id} is judged`);
        return null;
      });
      if (!chain) readable = false;
      else for (const f of chain) used.add(f);
    }
    // What an unreadable chain stands on is unknown: call nothing in this pool an orphan.
    if (!readable) continue;
    for (const name of candidates) {
      const path = join(dir, name);
      const volumeId = name.slice(0, name.indexOf('.'));
      if (used.has(path) || refs.busyVolumes.has(volumeId)) continue;
      // a former copy's layers go with it, when its last snapshot is deleted
      if (refs.formerCopies.has(`${volumeId}@${pool.id}`)) continue;
      const known = volumes.get(volumeId);
      out.push(
        orphan(
          'file',
          path,
          known
            ? 'a layer of this volume that no active layer, snapshot or other layer uses'
            : 'a layer of a volume the database does not have',
          { poolId: pool.id, volumeId },
        ),
      );
    }
  }
  return out;
}

/**
 * Files in each host's state directory (`<vm>.<snapshot>.<part>`: transient overlays, memory
 * state), as its agent lists them, that no VM snapshot and no running disk uses. Files of VMs this
 * database does not know are left alone: another installation may share the directory. `inUse`
 * holds the sources the hosts' domains have open. Each orphan names its host, whose agent removes it.
 */
export async function strayStateFiles(
  refs: References,
  stateDir: string,
  hosts: readonly HostFiles[],
  inUse: ReadonlySet<string>,
  warnings: string[],
): Promise<Orphan[]> {
  const out: Orphan[] = [];
  for (const host of hosts) {
    for (const name of (await listDir(host, stateDir, warnings)) ?? []) {
      const [vmId, snapshotId] = name.split('.');
      if (!vmId || !snapshotId || !refs.knownVms.has(vmId) || refs.busyVms.has(vmId)) continue;
      const path = join(stateDir, basename(name));
      if (refs.memoryFiles.has(path) || inUse.has(path)) continue;
      out.push(
        orphan('file', path, 'a transient overlay or memory file no VM snapshot or running disk uses', {
          vmSnapshotId: snapshotId,
          hostId: host.hostId,
        }),
      );
    }
  }
  return out;
}
