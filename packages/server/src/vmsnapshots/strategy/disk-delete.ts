import { loadVm, loadVolume } from '../../orchestration/deps.js';
import { domainName } from '../../orchestration/naming.js';
import type { HostFiles } from '../../orchestration/host-files.js';
import { volumeFiles } from '../../orchestration/pool-agent.js';
import type { OrchestrationDeps } from '../../orchestration/deps.js';
import { snapshotLayersUnder } from '../layers.js';
import { poolsOf, storageGroups } from '../shared.js';
import type { Deleted, DeleteInput, FileMerge, StrategyContext } from './types.js';

/**
 * The built-in strategies' delete, of any node of the tree. Storage parts are deleted through the
 * drivers' hooks. A qcow2 part whose frozen file lies right under the disk's active layer is
 * merged: the active layer is committed into it (block commit with pivot on a running VM,
 * qemu-img commit on a stopped one). A frozen file that other layers still build on is kept for
 * them: nothing else in the tree breaks. Safe to run again after a crash.
 */
export async function deleteByParts(ctx: StrategyContext, input: DeleteInput): Promise<Deleted> {
  const { deps } = ctx;
  const s = input.snapshot;
  const pools = await poolsOf(
    deps.db,
    s.parts.map((p) => p.volumeId),
  );
  const deleted: string[] = [];
  for (const [poolId, volumeIds] of storageGroups(s, pools)) {
    const r = await (
      await deps.drivers.forPool(poolId)
    ).deleteVmSnapshot(ctx.storage, {
      vmSnapshot: { id: s.id, vmId: s.vmId, name: s.name, type: s.type },
      volumeIds,
      callerConsistency: 'crash',
    });
    deleted.push(...r.deleted);
  }
  return { deleted, merges: await mergeFiles(ctx, input) };
}

async function mergeFiles(ctx: StrategyContext, input: DeleteInput): Promise<FileMerge[]> {
  const { deps } = ctx;
  const s = input.snapshot;
  const vm = await loadVm(deps.db, s.vmId);
  const merges: FileMerge[] = [];
  // A part the volume moved away from is no layer of its disk now: its files go with the former copy.
  for (const part of s.parts.filter((p) => p.by === 'hypervisor' && !p.formerPoolId)) {
    const volume = await loadVolume(deps.db, part.volumeId);
    const active = volume.backendRef;
    // Replays after a crash: the merge already happened when the active layer IS the frozen file.
    if (!active || active === part.ref) {
      merges.push({
        volumeId: part.volumeId,
        frozenPath: part.ref,
        mergedActive: null,
        running: false,
      });
      continue;
    }
    // The volume's layers are read, and a stopped disk committed, by an agent that mounts its pool.
    const files = await volumeFiles(deps, part.volumeId, vm.hostId);
    const onlyUnderActive =
      (await files.backingOf(active, ctx.storage.signal)) === part.ref &&
      !(await othersBuildOn(deps, files, part.volumeId, part.ref, active, s.id));
    if (!onlyUnderActive) {
      merges.push({
        volumeId: part.volumeId,
        frozenPath: part.ref,
        mergedActive: null,
        running: false,
        unused: await snapshotLayersUnder(files, part.volumeId, part.ref),
      });
      continue;
    }
    const running =
      vm.state === 'Running' && vm.hostId !== null && volume.vmId === vm.id && volume.deviceName !== null;
    if (running) {
      // A replay after the pivot finds the disk already on the frozen file: committing again would go one layer too deep.
      const live = await deps.agent.send(vm.hostId, 'vm.state', { vm: domainName(vm) });
      const onFrozen = live.disks.some((d) => d.target === volume.deviceName && d.source === part.ref);
      if (!onFrozen)
        await deps.agent.send(
          vm.hostId,
          'snapshot.blockCommit',
          { vm: domainName(vm), target: volume.deviceName },
          { signal: ctx.storage.signal, timeoutMs: 600_000 },
        );
    } else {
      await files.commit(active, ctx.storage.signal, 600_000);
    }
    merges.push({ volumeId: part.volumeId, frozenPath: part.ref, mergedActive: active, running });
  }
  return merges;
}

/** Whether any layer other than `active` still names `frozen` as its backing (another snapshot, a revert branch). */
async function othersBuildOn(
  deps: OrchestrationDeps,
  files: HostFiles,
  volumeId: string,
  frozen: string,
  active: string,
  exceptSnapshot: string,
): Promise<boolean> {
  // A volume's layers are built only from its own files: its other snapshots' frozen files.
  const rows = await deps.db.query(
    `SELECT DISTINCT backend_ref FROM volume_snapshots WHERE volume_id = $1 AND taken_by = 'hypervisor' AND state = 'Ready' AND vm_snapshot_id <> $2`,
    [volumeId, exceptSnapshot],
  );
  const candidates = rows.map((r) => String(r['backend_ref']));
  for (const path of new Set(candidates)) {
    if (path === active || path === frozen) continue;
    if ((await files.backingOf(path).catch(() => null)) === frozen) return true;
  }
  return false;
}
