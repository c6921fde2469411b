import type { Migration } from './migration.js';

/**
 * What orchestration needs beyond the domain: direct kernel boot for templates (tiny guests that
 * have no boot loader), and per-volume links of a VM snapshot (which disks it covers).
 */
export const orchestrationSchema: Migration = {
  version: 5,
  name: 'orchestration',
  statements: [
    `ALTER TABLE templates ADD COLUMN kernel_path TEXT, ADD COLUMN initrd_path TEXT, ADD COLUMN cmdline TEXT`,
    `ALTER TABLE vm_snapshots ADD COLUMN plan JSONB`,
    `ALTER TABLE volume_snapshots ADD COLUMN taken_by TEXT`,
  ],
};
