import type { Migration } from './migration.js';

/**
 * Recurring snapshots: one schedule per volume (or VM) and interval, as CloudStack's snapshot
 * policies, with the next run time already computed in the schedule's time zone; and which
 * snapshots a schedule made, so retention deletes only those.
 */
export const snapshotSchedulesSchema: Migration = {
  version: 14,
  name: 'snapshot-schedules',
  statements: [
    `CREATE TABLE snapshot_schedules (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
      kind TEXT NOT NULL CHECK (kind IN ('volume','vm')),
      target_id TEXT NOT NULL,
      interval_type TEXT NOT NULL CHECK (interval_type IN ('HOURLY','DAILY','WEEKLY','MONTHLY')),
      schedule TEXT NOT NULL, timezone TEXT NOT NULL,
      max_snaps INTEGER NOT NULL CHECK (max_snaps > 0),
      enabled BOOLEAN NOT NULL DEFAULT true,
      next_run_at TIMESTAMPTZ NOT NULL, last_run_at TIMESTAMPTZ, last_error TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (kind, target_id, interval_type))`,
    `CREATE INDEX snapshot_schedules_due ON snapshot_schedules (next_run_at) WHERE enabled`,
    `CREATE TABLE scheduled_snapshots (
      schedule_id TEXT NOT NULL REFERENCES snapshot_schedules(id) ON DELETE CASCADE,
      snapshot_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      delete_queued_at TIMESTAMPTZ,
      PRIMARY KEY (schedule_id, snapshot_id))`,
  ],
};
