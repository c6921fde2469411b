import type { VmSnapshotRequest } from '@strata/core';

/** Both strategies take memory: it goes to a file with the one libvirt operation that cuts every disk. */
export const withMemory = (req: VmSnapshotRequest): string =>
  req.type === 'DiskAndMemory' ? '; memory state to a file, restored on revert' : '';
