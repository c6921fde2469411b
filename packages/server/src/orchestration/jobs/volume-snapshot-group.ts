import { StrataError, volumeSnapshotMachine, type StorageDriver } from '@strata/core';
import type { JobDefinition } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { acquireHold } from '../../vmsnapshots/hold.js';
import { loadVm, storageContext, type OrchestrationDeps } from '../deps.js';
import { domainName } from '../naming.js';

type GroupInput = { readonly snapshotIds: readonly string[]; readonly vmId: string | null };

interface Member {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly poolId: string;
}

/** The agent thaws the guest on its own at this deadline, even if this server dies. */
const FREEZE_DEADLINE_MS = 5_000;

async function membersOf(deps: OrchestrationDeps, ids: readonly string[]): Promise<Member[]> {
  const rows = await deps.db.query(
    `SELECT s.id, s.volume_id, v.pool_id FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id
     WHERE s.id = ANY($1)`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [String(r['id']), r]));
  return ids.map((id) => {
    const r = byId.get(id);
    if (!r) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id });
    return { snapshotId: id, volumeId: String(r['volume_id']), poolId: String(r['pool_id']) };
  });
}

function byPool(members: readonly Member[]): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  for (const m of members) out.set(m.poolId, [...(out.get(m.poolId) ?? []), m]);
  return out;
}

/** A backend without group snapshots still takes its members' snapshots inside the same hold. */
async function cutPool(
  driver: StorageDriver,
  sctx: ReturnType<typeof storageContext>,
  members: readonly Member[],
) {
  const reqs = members.map((m) => ({ volumeId: m.volumeId, snapshotId: m.snapshotId }));
  if (driver.capabilities.groupSnapshot.supported) {
    const r = await driver.groupSnapshot(sctx, { groupId: `${reqs[0]!.snapshotId}-group`, members: reqs });
    return r.snapshots;
  }
  const out = [];
  for (const req of reqs) out.push((await driver.createSnapshot(sctx, req)).snapshot);
  return out;
}

/**
 * One consistent snapshot of a list of volumes: one group snapshot per backend, all taken in
 * parallel under one guest freeze when the volumes belong to a running VM (always thawed, and
 * the agent thaws by itself at the deadline). Recorded as ordinary volume snapshots.
 */
export function volumeSnapshotGroupJob(deps: OrchestrationDeps): JobDefinition<GroupInput> {
  return {
    type: JOB_TYPES.volumeSnapshotGroup,
    steps: [
      {
        // Holds nothing itself: its compensation marks every record Error when the cut fails.
        name: 'begin',
        transactional: true,
        run: () => Promise.resolve(null),
        compensate: async (ctx, input) => {
          for (const id of input.snapshotIds)
            await applyTransition(ctx.tx, deps.events, {
              table: 'volume_snapshots',
              kind: 'volume-snapshot',
              machine: volumeSnapshotMachine,
              id,
              event: 'Fail',
              jobId: ctx.jobId,
            });
        },
      },
      {
        name: 'cut',
        run: async (ctx, input) => {
          const sctx = storageContext(ctx);
          const pools = byPool(await membersOf(deps, input.snapshotIds));
          const drivers = new Map<string, StorageDriver>();
          for (const poolId of pools.keys()) drivers.set(poolId, await deps.drivers.forPool(poolId));
          for (const d of drivers.values())
            if (!d.capabilities.volumeSnapshot)
              throw new StrataError('STORAGE_UNSUPPORTED', { driver: d.type, operation: 'volume snapshots' });
          const vm = input.vmId ? await loadVm(deps.db, input.vmId) : null;
          const running = vm?.state === 'Running' && vm.hostId !== null;
          const hypervisorOwned = [...drivers.values()].find(
            (d) => d.capabilities.vmSnapshotHook === 'hypervisor',
          );
          if (running && hypervisorOwned)
            throw new StrataError('STORAGE_UNSUPPORTED', {
              driver: hypervisorOwned.type,
              operation: 'a volume snapshot of a disk a running VM writes to (take a VM snapshot)',
            });
          const hold =
            running && vm.hostId
              ? await acquireHold(
                  deps.agent,
                  { hostId: vm.hostId, vm: domainName(vm) },
                  'guest',
                  FREEZE_DEADLINE_MS,
                  ctx.signal,
                )
              : null;
          let taken;
          let holdMs = 0;
          try {
            taken = await Promise.all(
              [...pools].map(([poolId, members]) => cutPool(drivers.get(poolId)!, sctx, members)),
            );
          } finally {
            if (hold) holdMs = await hold.release();
          }
          if (hold && holdMs >= FREEZE_DEADLINE_MS)
            throw new StrataError('HOLD_EXPIRED', {
              vm: vm!.id,
              deadlineMs: FREEZE_DEADLINE_MS,
              holdMs: Math.round(holdMs),
            });
          return {
            frozen: hold !== null,
            holdMs,
            backends: pools.size,
            snapshots: taken.flat().map((s) => ({
              snapshotId: s.snapshotId,
              backendRef: s.backendRef,
              sizeBytes: s.sizeBytes,
            })),
          };
        },
        compensate: async (ctx, input) => {
          const sctx = storageContext(ctx);
          for (const m of await membersOf(deps, input.snapshotIds))
            await (
              await deps.drivers.forPool(m.poolId)
            ).deleteSnapshot(sctx, { volumeId: m.volumeId, snapshotId: m.snapshotId });
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, _input, prior) => {
          const cut = prior['cut'] as {
            frozen: boolean;
            holdMs: number;
            backends: number;
            snapshots: Array<{ snapshotId: string; backendRef: string; sizeBytes: number }>;
          };
          for (const s of cut.snapshots)
            await applyTransition(ctx.tx, deps.events, {
              table: 'volume_snapshots',
              kind: 'volume-snapshot',
              machine: volumeSnapshotMachine,
              id: s.snapshotId,
              event: 'Created',
              jobId: ctx.jobId,
              set: { backend_ref: s.backendRef, size_bytes: s.sizeBytes, taken_by: 'storage' },
            });
          return {
            snapshotIds: cut.snapshots.map((s) => s.snapshotId),
            frozen: cut.frozen,
            holdMs: cut.holdMs,
            backends: cut.backends,
          };
        },
      },
    ],
  };
}
