import type { Migration } from './migration.js';

/**
 * An account may hold any of the three roles (CloudStack's account types Admin, DomainAdmin and
 * User are per account; `updateAccount roleid=` sets one). Users without their own role follow it.
 */
export const accountRolesSchema: Migration = {
  version: 10,
  name: 'account-roles',
  statements: [
    `ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_role_check`,
    `ALTER TABLE accounts ADD CONSTRAINT accounts_role_check CHECK (role IN ('admin','account-admin','user'))`,
  ],
};
