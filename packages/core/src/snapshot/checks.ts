import type { VmSnapshotType } from '../domain/entities.js';
import { validateName } from '../domain/names.js';
import { StrataError } from '../errors/strata-error.js';
import type { VmState } from '../state/machines.js';

/** Default cap on snapshots per VM (CloudStack's vmsnapshot.max). */
export const DEFAULT_MAX_VM_SNAPSHOTS = 32;

const LIVE = new Set(['Allocated', 'Creating', 'Ready', 'Reverting', 'Expunging', 'Hidden']);

/** The checks before any work on a new VM snapshot (DESIGN.md section 2). Throws the first failure. */
export function checkCreate(input: {
  readonly vm: { readonly id: string; readonly state: VmState };
  readonly name: string;
  readonly type: VmSnapshotType;
  readonly existing: ReadonlyArray<{ readonly name: string; readonly state: string }>;
  readonly max?: number;
}): void {
  const { vm, type } = input;
  validateName('name', input.name);
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
  const live = input.existing.filter((s) => LIVE.has(s.state));
  if (live.some((s) => s.name === input.name)) {
    throw new StrataError('VM_SNAPSHOT_NAME_TAKEN', { vm: vm.id, name: input.name });
  }
  const max = input.max ?? DEFAULT_MAX_VM_SNAPSHOTS;
  if (live.length >= max) throw new StrataError('VM_SNAPSHOT_LIMIT', { vm: vm.id, count: live.length, max });
}
