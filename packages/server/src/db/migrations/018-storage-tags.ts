import type { Migration } from './migration.js';

/**
 * Storage tags (CloudStack's disk offering `tags` and pool `tags`): a volume from an offering with
 * tags is placed only on a pool carrying every one of them. Kept as sorted JSON arrays of strings.
 */
export const storageTagsSchema: Migration = {
  version: 18,
  name: 'storage-tags',
  statements: [
    `ALTER TABLE disk_offerings ADD COLUMN storage_tags JSONB NOT NULL DEFAULT '[]'`,
    `ALTER TABLE storage_pools ADD COLUMN storage_tags JSONB NOT NULL DEFAULT '[]'`,
  ],
};
