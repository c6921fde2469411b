import type { Migration } from './migration.js';

/** Sessions of the web console and the signatures already seen (replay protection). */
export const authSchema: Migration = {
  version: 3,
  name: 'auth',
  statements: [
    // Only a hash of the token is kept: a stolen database does not yield live sessions.
    `CREATE TABLE sessions (
      token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL)`,
    `CREATE INDEX sessions_expires ON sessions (expires_at)`,
    // A signature is refused a second time until it expires; then it is refused as expired anyway.
    `CREATE TABLE seen_signatures (
      signature TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL)`,
    `CREATE INDEX seen_signatures_expires ON seen_signatures (expires_at)`,
    `CREATE INDEX users_account ON users (account_id)`,
    `CREATE INDEX api_keys_user ON api_keys (user_id)`,
    `CREATE INDEX vms_account_created ON vms (account_id, created_at, id)`,
    `CREATE INDEX vm_snapshots_vm ON vm_snapshots (vm_id, created_at, id)`,
    `CREATE INDEX events_created ON events (created_at, id)`,
  ],
};
