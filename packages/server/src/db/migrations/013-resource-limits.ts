import type { Migration } from './migration.js';

/**
 * Per-account resource limits (CloudStack's resource limits). No row means unlimited, so an
 * account without limits costs nothing at admission; a row is locked by every admission of its
 * kind, which serialises concurrent creates at the edge.
 */
export const resourceLimitsSchema: Migration = {
  version: 13,
  name: 'resource-limits',
  statements: [
    `CREATE TABLE resource_limits (
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('vm','volume','volume-snapshot','vm-snapshot','primary-storage-bytes','min-iops')),
      max BIGINT NOT NULL CHECK (max >= 0),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, kind))`,
  ],
};
