import type { Migration } from './migration.js';

/**
 * A display name for VMs and volumes (CloudStack's displayname, set by updateVirtualMachine and
 * updateVolume): free text beside the name, which stays the unique handle. NULL shows the name.
 */
export const displayNamesSchema: Migration = {
  version: 17,
  name: 'display-names',
  statements: [
    `ALTER TABLE vms ADD COLUMN display_name TEXT`,
    `ALTER TABLE volumes ADD COLUMN display_name TEXT`,
  ],
};
