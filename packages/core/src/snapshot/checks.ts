import type { VmSnapshotType } from '../domain/entities.js';
import { validateName } from '../domain/names.js';
import { StrataError } from '../errors/strata-error.js';
import type { VmState } from '../state/machines.js';

/**
 * Cap on snapshots per VM that are not Removed or Error (CloudStack's vmsnapshot.max). 32: the
 * depth the benchmark measures a VM at (`bench/vmsnapshot`, I/O after 32 snapshots).
 */
export const MAX_VM_SNAPSHOTS = 32;

/** States that hold a name and count towards the cap: every state but Removed and Error. */
const LIVE = new Set(['Allocated', 'Creating', 'Ready', 'Reverting', 'Expunging', 'Hidden']);
/** States a snapshot job is working in: one such on a VM and no other snapshot may start. */
const IN_FLIGHT = new Set(['Allocated', 'Creating', 'Reverting', 'Expunging']);

export interface VmForSnapshot {
  readonly id: string;
  readonly state: VmState;
}

/**
 * The VM's own side of a new snapshot: Running or Stopped, and Running for memory. Checked when the
 * request is accepted and again by the job's plan (the VM may have stopped in between).
 */
export function checkVmCanSnapshot(vm: VmForSnapshot, type: VmSnapshotType): void {
  if (vm.state !== 'Running' && vm.state !== 'Stopped') {
    throw new StrataError('VM_STATE_INVALID', {
      vm: vm.id,
      state: vm.state,
      operation: 'a VM snapshot',
      expected: 'Running or Stopped',
    });
  }
  if (type === 'DiskAndMemory' && vm.state !== 'Running') {
    throw new StrataError('MEMORY_SNAPSHOT_NEEDS_RUNNING_VM', { vm: vm.id, state: vm.state });
  }
}

/**
 * Every check before work on a new VM snapshot, in CloudStack's order; throws the first failure.
 * The one place these rules live: REST, CloudStack and the CLI reach it through the service.
 */
export function checkCreate(input: {
  readonly vm: VmForSnapshot;
  readonly name: string;
  readonly type: VmSnapshotType;
  /** The VM's snapshots in any state (Removed and Error ones are ignored). */
  readonly existing: ReadonlyArray<{ readonly name: string; readonly state: string }>;
  readonly max?: number;
}): void {
  const { vm } = input;
  validateName('name', input.name);
  checkVmCanSnapshot(vm, input.type);
  const live = input.existing.filter((s) => LIVE.has(s.state));
  if (live.some((s) => s.name === input.name)) {
    throw new StrataError('VM_SNAPSHOT_NAME_TAKEN', { vm: vm.id, name: input.name });
  }
  const max = input.max ?? MAX_VM_SNAPSHOTS;
  if (live.length >= max) throw new StrataError('VM_SNAPSHOT_LIMIT', { vm: vm.id, count: live.length, max });
  if (live.some((s) => IN_FLIGHT.has(s.state))) {
    throw new StrataError('CONFLICT', { reason: `another snapshot operation is in flight on vm ${vm.id}` });
  }
}

/**
 * Revert and delete go only to the strategy that took the snapshot. A snapshot recorded without one
 * (before strategies were recorded, or a create that failed before it chose) is not refused.
 */
export function checkStrategyRegistered(
  registered: ReadonlyArray<{ readonly name: string }>,
  snapshot: { readonly id: string; readonly strategy: string | null },
): void {
  const { strategy } = snapshot;
  if (strategy === null || registered.some((s) => s.name === strategy)) return;
  throw new StrataError('SNAPSHOT_STRATEGY_MISSING', { snapshot: snapshot.id, strategy });
}
