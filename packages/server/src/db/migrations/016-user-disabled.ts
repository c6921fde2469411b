import type { Migration } from './migration.js';

/** A disabled user cannot log in, and its sessions and API keys stop working; NULL: enabled. */
export const userDisabledSchema: Migration = {
  version: 16,
  name: 'user-disabled',
  statements: [`ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ`],
};
