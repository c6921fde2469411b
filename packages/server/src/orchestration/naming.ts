import type { Vm } from '@strata/core';

/**
 * The libvirt domain of a VM is named by its id: user names may hold any character (they stay in
 * the database and the API), and ids never collide across accounts.
 */
export function domainName(vm: Pick<Vm, 'id'>): string {
  return vm.id;
}

/**
 * Host-local file for a transient overlay or memory state of one VM snapshot. One flat directory
 * (made at install on every host) so QEMU never needs a directory created on the fly.
 */
export function snapshotFile(stateDir: string, vmId: string, snapshotId: string, part: string): string {
  return `${stateDir}/${vmId}.${snapshotId}.${part}`;
}
