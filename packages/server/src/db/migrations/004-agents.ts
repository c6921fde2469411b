import type { Migration } from './migration.js';

/**
 * The agent channel: one-time registration tokens (only their hash is kept), the facts each host
 * reported, and the last real state its agent sent (the base the next reconcile compares against).
 */
export const agentsSchema: Migration = {
  version: 4,
  name: 'agents',
  statements: [
    `CREATE TABLE host_registration_tokens (
      id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, cluster_id TEXT NOT NULL REFERENCES clusters(id),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL,
      used_at TIMESTAMPTZ, host_id TEXT REFERENCES hosts(id))`,
    `ALTER TABLE hosts ADD COLUMN facts JSONB NOT NULL DEFAULT '{}'`,
    `ALTER TABLE hosts ADD COLUMN agent_report JSONB`,
    `ALTER TABLE hosts ADD COLUMN credential_issued_at TIMESTAMPTZ`,
  ],
};
