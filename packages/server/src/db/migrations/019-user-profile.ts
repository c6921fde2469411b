import type { Migration } from './migration.js';

/**
 * A user's name, e-mail and time zone (CloudStack's firstname, lastname, email, timezone): kept as
 * given so that tools which declare them (Ansible's cs_user) find them unchanged. Strata sends no
 * mail and shows times in UTC; NULL is not given.
 */
export const userProfileSchema: Migration = {
  version: 19,
  name: 'user-profile',
  statements: [
    `ALTER TABLE users ADD COLUMN first_name TEXT`,
    `ALTER TABLE users ADD COLUMN last_name TEXT`,
    `ALTER TABLE users ADD COLUMN email TEXT`,
    `ALTER TABLE users ADD COLUMN timezone TEXT`,
  ],
};
