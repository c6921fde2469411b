import type { Migration } from './migration.js';

/**
 * What a stopped VM's disks hold at rest, the label a snapshot of it records: `filesystem` after a
 * clean guest shutdown, `crash` once it has run and stopped any other way (forced, host lost, found
 * down), a reverted snapshot's own label after a revert that leaves it stopped; NULL for a VM that
 * never ran. Existing VMs' last stops are unknown: `crash`, the label that is true of any stop.
 */
export const stopConsistencySchema: Migration = {
  version: 15,
  name: 'stop-consistency',
  statements: [
    `ALTER TABLE vms ADD COLUMN stop_consistency TEXT
      CHECK (stop_consistency IN ('crash','filesystem','application'))`,
    `UPDATE vms SET stop_consistency = 'crash'`,
  ],
};
