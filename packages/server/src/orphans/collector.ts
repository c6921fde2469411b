import { StrataError, vmSnapshotMachine, type StorageContext } from '@strata/core';
import { hostRef, loadHost, type OrchestrationDeps } from '../orchestration/deps.js';
import { hostFiles, type HostFiles } from '../orchestration/host-files.js';
import { poolFiles } from '../orchestration/pool-agent.js';
import { applyTransition } from '../services/transition.js';
import { backendOrphans } from './backends.js';
import { strayLayers, strayStateFiles } from './files.js';
import { loadReferences, type References } from './references.js';
import { strayMemoryStates } from './store-files.js';
import { orphan, type CollectResult, type Orphan, type OrphanReport } from './types.js';
import { loadVmSnapshotRows, removeVmSnapshotPart } from './vm-parts.js';

/** The connected hosts: each lists its own state directory. */
async function upHosts(deps: OrchestrationDeps): Promise<HostFiles[]> {
  const rows = await deps.db.query(`SELECT id FROM hosts WHERE state = 'Up' ORDER BY id`);
  return rows.map((r) => hostFiles(deps.agent, String(r['id'])));
}

/** Disk sources the connected hosts' domains have open; null when some host did not answer. */
async function openSources(deps: OrchestrationDeps, warnings: string[]): Promise<Set<string> | null> {
  const hosts = await deps.db.query(`SELECT id FROM hosts WHERE state = 'Up'`);
  const open = new Set<string>();
  for (const h of hosts) {
    try {
      const { domains } = await deps.agent.send(String(h['id']), 'vm.list', {});
      for (const d of domains) for (const disk of d.disks) open.add(disk.source);
    } catch (e) {
      warnings.push(`host ${String(h['id'])} did not list its domains (${String(e)}): files not judged`);
      return null;
    }
  }
  return open;
}

function stuckSnapshots(refs: References): Orphan[] {
  return refs.transitional.map((t) =>
    orphan('vm-snapshot-state', t.id, `left ${t.state} with no live job`, { vmSnapshotId: t.id }),
  );
}

/**
 * Finds what nothing in the database references (docs/vm-snapshots.md, crash safety). Anything a
 * live job (other than `exceptJob`) may still be working on is left out.
 */
export async function scanOrphans(
  deps: OrchestrationDeps,
  ctx: StorageContext,
  exceptJob?: string,
): Promise<OrphanReport> {
  const warnings: string[] = [];
  const refs = await loadReferences(deps.db, exceptJob);
  const orphans: Orphan[] = [...stuckSnapshots(refs)];
  const open = await openSources(deps, warnings);
  if (open) {
    const files = [
      ...(await strayLayers(refs, (poolId) => poolFiles(deps, poolId), warnings)),
      ...(await strayStateFiles(refs, deps.stateDir, await upHosts(deps), open, warnings)),
      ...(await strayMemoryStates(deps.db, deps.agent, refs, warnings)),
    ];
    orphans.push(...files.filter((f) => !open.has(f.ref)));
  }
  const vmSnapshots = await loadVmSnapshotRows(deps.db, exceptJob);
  orphans.push(...(await backendOrphans(refs, vmSnapshots, deps.drivers, ctx, warnings)));
  return { orphans, warnings, scannedAt: new Date().toISOString() };
}

async function removeOne(deps: OrchestrationDeps, ctx: StorageContext, o: Orphan): Promise<void> {
  switch (o.kind) {
    case 'file':
      await (await orphanFileHost(deps, o)).remove(o.ref);
      return;
    case 'backend-snapshot':
      await (
        await deps.drivers.forPool(o.poolId!)
      ).deleteSnapshot(ctx, { volumeId: o.volumeId!, snapshotId: o.ref });
      return;
    case 'backend-vm-snapshot-part':
      return removeVmSnapshotPart(deps, ctx, o);
    case 'backend-volume':
      await (await deps.drivers.forPool(o.poolId!)).deleteVolume(ctx, { volumeId: o.ref });
      return;
    case 'access-grant': {
      const host = await loadHost(deps.db, o.hostId!).then(hostRef, () => ({ id: o.hostId! }));
      await (await deps.drivers.forPool(o.poolId!)).revokeAccess(ctx, { volumeId: o.volumeId!, host });
      return;
    }
    case 'vm-snapshot-state':
      // Creating ends in Error (its parts are then unreferenced and collected below); Reverting
      // and Expunging go back to Ready, as a failed job would have left them.
      await deps.db.transaction((tx) =>
        applyTransition(tx, deps.events, {
          table: 'vm_snapshots',
          kind: 'vm-snapshot',
          machine: vmSnapshotMachine,
          id: o.ref,
          event: 'OperationFailed',
        }),
      );
  }
}

/** The agent that removes a file orphan: its host's (state directory, snapshot store) or its pool's (a layer). */
async function orphanFileHost(deps: OrchestrationDeps, o: Orphan): Promise<HostFiles> {
  if (o.hostId) return hostFiles(deps.agent, o.hostId);
  if (o.poolId) return poolFiles(deps, o.poolId);
  throw new StrataError('INTERNAL', { reason: `file orphan ${o.ref} names neither host nor pool` });
}

/** Removes every orphan: stuck VM snapshots first, then a fresh scan's files, snapshots, volumes, grants. */
export async function collectOrphans(
  deps: OrchestrationDeps,
  ctx: StorageContext,
  exceptJob?: string,
): Promise<CollectResult> {
  const removed: Orphan[] = [];
  const failed: Array<{ orphan: Orphan; error: string }> = [];
  const attempt = async (o: Orphan) => {
    try {
      await removeOne(deps, ctx, o);
      removed.push(o);
    } catch (e) {
      failed.push({ orphan: o, error: String(e) });
    }
  };
  const first = await scanOrphans(deps, ctx, exceptJob);
  for (const o of first.orphans.filter((x) => x.kind === 'vm-snapshot-state')) await attempt(o);
  const second = await scanOrphans(deps, ctx, exceptJob);
  for (const o of second.orphans.filter((x) => x.kind !== 'vm-snapshot-state')) await attempt(o);
  return { removed, failed, warnings: second.warnings };
}
