import { StrataError, volumeSnapshotMachine, type StorageDriver } from '@strata/core';
import type { JobDefinition, StepContext } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { loadVm, storageContext, type OrchestrationDeps } from '../deps.js';
import { domainName } from '../naming.js';
import { cutUnderFreeze, undoGroupCut, type GroupGuest } from './group-cut.js';

type GroupInput = { readonly snapshotIds: readonly string[]; readonly vmId: string | null };

interface Member {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly poolId: string;
  /** The disk's target in the VM the group belongs to; null for a detached volume. */
  readonly target: string | null;
}

async function membersOf(deps: OrchestrationDeps, input: GroupInput): Promise<Member[]> {
  const rows = await deps.db.query(
    `SELECT s.id, s.volume_id, v.pool_id, v.vm_id, v.device_name
     FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id
     WHERE s.id = ANY($1)`,
    [input.snapshotIds],
  );
  const byId = new Map(rows.map((r) => [String(r['id']), r]));
  return input.snapshotIds.map((id) => {
    const r = byId.get(id);
    if (!r) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id });
    const attached = input.vmId !== null && r['vm_id'] === input.vmId && r['device_name'] !== null;
    return {
      snapshotId: id,
      volumeId: String(r['volume_id']),
      poolId: String(r['pool_id']),
      target: attached ? String(r['device_name']) : null,
    };
  });
}

const targetsOf = (members: readonly Member[]): string[] =>
  members.flatMap((m) => (m.target ? [m.target] : []));

function byPool(members: readonly Member[]): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  for (const m of members) out.set(m.poolId, [...(out.get(m.poolId) ?? []), m]);
  return out;
}

/** The group's VM when it runs on a host: its disks are written to while the cut is taken. */
async function runningGuest(deps: OrchestrationDeps, input: GroupInput): Promise<GroupGuest | null> {
  if (!input.vmId) return null;
  const vm = await loadVm(deps.db, input.vmId);
  if (vm.state !== 'Running' || !vm.hostId) return null;
  return {
    hostId: vm.hostId,
    vm: domainName(vm),
    vmId: vm.id,
    stateDir: deps.stateDir,
    groupKey: input.snapshotIds[0]!,
  };
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

type Taken = Array<{ snapshotId: string; backendRef: string; sizeBytes: number }>;

/**
 * Cuts every member at one instant. Several disks of a running guest: the guest is frozen only
 * around one atomic overlay over them (group-cut.ts), the backends take their still volumes with
 * the guest running, and the overlays are committed back; one disk the same way. Detached volumes:
 * nothing writes them.
 */
async function cutGroup(
  deps: OrchestrationDeps,
  ctx: StepContext,
  input: GroupInput,
): Promise<{ mode: 'overlay' | 'none'; holdMs: number; backends: number; taken: Taken }> {
  const sctx = storageContext(ctx);
  const members = await membersOf(deps, input);
  const pools = byPool(members);
  const drivers = new Map<string, StorageDriver>();
  for (const poolId of pools.keys()) drivers.set(poolId, await deps.drivers.forPool(poolId));
  for (const d of drivers.values())
    if (!d.capabilities.volumeSnapshot)
      throw new StrataError('STORAGE_UNSUPPORTED', { driver: d.type, operation: 'volume snapshots' });
  const guest = await runningGuest(deps, input);
  const hypervisorOwned = [...drivers.values()].find((d) => d.capabilities.vmSnapshotHook === 'hypervisor');
  if (guest && hypervisorOwned)
    throw new StrataError('STORAGE_UNSUPPORTED', {
      driver: hypervisorOwned.type,
      operation: 'a volume snapshot of a disk a running VM writes to (take a VM snapshot)',
    });
  const cutAll = async (): Promise<Taken> =>
    (await Promise.all([...pools].map(([poolId, ms]) => cutPool(drivers.get(poolId)!, sctx, ms)))).flat();
  const targets = targetsOf(members);
  if (!guest) return { mode: 'none', holdMs: 0, backends: pools.size, taken: await cutAll() };
  // The guest is frozen around one atomic overlay only (one disk or many): the backends then take
  // their still volumes with the guest running, however slow one is.
  const { holdMs, taken } = await cutUnderFreeze(deps, guest, targets, ctx.signal, cutAll);
  return { mode: 'overlay', holdMs, backends: pools.size, taken };
}

/**
 * One consistent snapshot of a list of volumes: one group snapshot per backend, cut at one instant
 * (see cutGroup). Recorded as ordinary volume snapshots. A cut interrupted by a crash is undone.
 */
export function volumeSnapshotGroupJob(deps: OrchestrationDeps): JobDefinition<GroupInput> {
  return {
    type: JOB_TYPES.volumeSnapshotGroup,
    onInterrupted: 'compensate',
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
          const cut = await cutGroup(deps, ctx, input);
          return {
            mode: cut.mode,
            frozen: cut.mode !== 'none',
            holdMs: cut.holdMs,
            backends: cut.backends,
            snapshots: cut.taken.map((s) => ({
              snapshotId: s.snapshotId,
              backendRef: s.backendRef,
              sizeBytes: s.sizeBytes,
            })),
          };
        },
        compensate: async (ctx, input) => {
          const sctx = storageContext(ctx);
          const members = await membersOf(deps, input);
          const guest = await runningGuest(deps, input);
          if (guest) await undoGroupCut(deps, guest, targetsOf(members), sctx);
          for (const m of members)
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
            mode: string;
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
            mode: cut.mode,
            frozen: cut.frozen,
            holdMs: cut.holdMs,
            backends: cut.backends,
          };
        },
      },
    ],
  };
}
