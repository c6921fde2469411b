import type { Migration } from './migration.js';

/**
 * A destroyed VM is kept (recoverable) until its retention ends, counted from `destroyed_at`; its
 * name is free for a new VM meanwhile (a recover then answers ALREADY_EXISTS). A running job may
 * be asked to cancel: `cancel_requested_at` is read at each step boundary.
 */
export const vmExpungeSchema: Migration = {
  version: 11,
  name: 'vm-expunge-and-job-cancel',
  statements: [
    `ALTER TABLE vms ADD COLUMN IF NOT EXISTS destroyed_at TIMESTAMPTZ`,
    `DROP INDEX IF EXISTS vms_live_name`,
    `CREATE UNIQUE INDEX vms_live_name ON vms (account_id, name) WHERE state NOT IN ('Destroyed','Expunging','Expunged')`,
    `CREATE INDEX IF NOT EXISTS vms_destroyed ON vms (destroyed_at) WHERE state IN ('Destroyed','Expunging')`,
    `ALTER TABLE jobs ADD COLUMN IF NOT EXISTS cancel_requested_at TIMESTAMPTZ`,
  ],
};
