import { domainSchema } from './001-domain.js';
import { jobsSchema } from './002-jobs.js';
import { authSchema } from './003-auth.js';
import { agentsSchema } from './004-agents.js';
import { orchestrationSchema } from './005-orchestration.js';
import { registrationConfirmSchema } from './006-registration-confirm.js';
import { boundRegistrationSchema } from './007-bound-registration.js';
import { rolesAuditSchema } from './009-roles-audit.js';
import { accountRolesSchema } from './010-account-roles.js';
import { vmExpungeSchema } from './011-vm-expunge.js';
import { serviceOfferingsSchema } from './012-service-offerings.js';
import { resourceLimitsSchema } from './013-resource-limits.js';
import { snapshotSchedulesSchema } from './014-snapshot-schedules.js';
import { stopConsistencySchema } from './015-stop-consistency.js';
import { userDisabledSchema } from './016-user-disabled.js';
import { displayNamesSchema } from './017-display-names.js';
import { storageTagsSchema } from './018-storage-tags.js';
import { userProfileSchema } from './019-user-profile.js';
import { movedSourcesSchema } from './020-moved-sources.js';
import type { Migration } from './migration.js';

/**
 * Every migration, by version. Versions are reserved per area so parallel work does not collide:
 * 1 domain, 2 jobs, 3 api/auth, 4 agents, 5 orchestration; later ones take the next free number.
 */
export const migrations: readonly Migration[] = [
  domainSchema,
  jobsSchema,
  authSchema,
  agentsSchema,
  orchestrationSchema,
  registrationConfirmSchema,
  boundRegistrationSchema,
  rolesAuditSchema,
  accountRolesSchema,
  vmExpungeSchema,
  serviceOfferingsSchema,
  resourceLimitsSchema,
  snapshotSchedulesSchema,
  stopConsistencySchema,
  userDisabledSchema,
  displayNamesSchema,
  storageTagsSchema,
  userProfileSchema,
  movedSourcesSchema,
];
