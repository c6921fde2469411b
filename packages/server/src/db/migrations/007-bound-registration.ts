import type { Migration } from './migration.js';

/**
 * A registration token an operator issued for one existing host (a reinstalled machine). Only
 * such a token re-keys that host; any other token registering an existing host name is refused,
 * so a token cannot take over a host (docs/security.md).
 */
export const boundRegistrationSchema: Migration = {
  version: 7,
  name: 'bound-registration',
  statements: [`ALTER TABLE host_registration_tokens ADD COLUMN for_host_id TEXT REFERENCES hosts(id)`],
};
