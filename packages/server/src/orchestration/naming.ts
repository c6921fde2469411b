import type { Vm } from '@strata/core';

/**
 * The libvirt domain of a VM is named by its id: user names may hold any character (they stay in
 * the database and the API), and ids never collide across accounts.
 */
export function domainName(vm: Pick<Vm, 'id'>): string {
  return vm.id;
}

/** Host-local file for a transient overlay or memory state of one VM snapshot. */
export function snapshotFile(stateDir: string, vmId: string, snapshotId: string, part: string): string {
  return `${stateDir}/vm-snapshots/${vmId}/${snapshotId}.${part}`;
}
