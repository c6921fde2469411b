import type { Migration } from './migration.js';

/**
 * When a registered host first proved it holds the credential its token bought (its first message
 * after the welcome, or a later hello). Until then the same host may spend the token again: a
 * welcome lost with its connection must not leave the host with neither token nor credential.
 */
export const registrationConfirmSchema: Migration = {
  version: 6,
  name: 'registration-confirm',
  statements: [`ALTER TABLE host_registration_tokens ADD COLUMN confirmed_at TIMESTAMPTZ`],
};
