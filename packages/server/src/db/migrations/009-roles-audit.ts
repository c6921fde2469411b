import type { Migration } from './migration.js';

/**
 * Roles per user and the audit trail (issue 21, docs/security.md). A user's `role` is NULL while
 * it follows its account's (`admin` or `user`), so rows written before this migration, or by code
 * that names no role, keep the access they had. Audit events are their own table: they outlive
 * the resources they name and only an operator reads them.
 */
export const rolesAuditSchema: Migration = {
  version: 9,
  name: 'roles-audit',
  statements: [
    `ALTER TABLE users ADD COLUMN role TEXT CHECK (role IN ('admin','account-admin','user'))`,
    `CREATE TABLE audit_events (
      id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, via TEXT NOT NULL, code TEXT,
      actor_account_id TEXT, actor_user_id TEXT,
      account_id TEXT, target_type TEXT, target_id TEXT, remote_address TEXT,
      details JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX audit_events_created ON audit_events (created_at, id)`,
    `CREATE INDEX audit_events_kind_created ON audit_events (kind, created_at, id)`,
  ],
};
