import type { Account, Role } from '@strata/core';
import type { AuditEvent } from '../services/audit.js';
import type { CsUser } from './deps.js';
import { csDate } from './render.js';
import type { CsObject } from './serialize.js';

/** CloudStack's account types: 1 Admin, 2 DomainAdmin, 0 User (what its clients branch on). */
export const ACCOUNT_TYPE: Readonly<Record<Role, number>> = { admin: 1, 'account-admin': 2, user: 0 };

/** CloudStack's role types and the names of its default roles. */
export const ROLE_TYPE: Readonly<Record<Role, string>> = {
  admin: 'Admin',
  'account-admin': 'DomainAdmin',
  user: 'User',
};
const ROLE_NAME: Readonly<Record<Role, string>> = {
  admin: 'Root Admin',
  'account-admin': 'Domain Admin',
  user: 'User',
};

// Strata has no domains: every account is in CloudStack's root domain.
const roleFields = (role: Role): CsObject => ({
  accounttype: ACCOUNT_TYPE[role],
  roletype: ROLE_TYPE[role],
  rolename: ROLE_NAME[role],
  roleid: role,
  domain: 'ROOT',
});

export function account(a: Account): CsObject {
  return { id: a.id, name: a.name, ...roleFields(a.role), state: 'enabled', created: csDate(a.createdAt) };
}

export function user(u: CsUser): CsObject {
  return {
    id: u.id,
    username: u.username,
    accountid: u.accountId,
    account: u.accountName,
    ...roleFields(u.role),
    firstname: u.profile.firstName ?? undefined,
    lastname: u.profile.lastName ?? undefined,
    email: u.profile.email ?? undefined,
    timezone: u.profile.timezone ?? undefined,
    apikey: u.apiKey,
    state: u.disabledAt ? 'disabled' : 'enabled',
    created: csDate(u.createdAt),
  };
}

/** An audit event as CloudStack's event: refusals are level WARN, the rest INFO. */
export function auditEvent(e: AuditEvent): CsObject {
  const failed = e.kind === 'auth.failed' || e.kind === 'agent.refused';
  const target = e.targetType ? ` ${e.targetType} ${e.targetId ?? ''}` : '';
  return {
    id: e.id,
    type: e.kind,
    level: failed ? 'WARN' : 'INFO',
    state: 'Completed',
    description: `${e.kind} via ${e.via}${e.code ? `: ${e.code}` : ''}${target}`.trim(),
    accountid: e.accountId ?? undefined,
    userid: e.actorUserId ?? undefined,
    stratacode: e.code ?? undefined,
    remoteaddress: e.remoteAddress ?? undefined,
    created: csDate(e.createdAt),
  };
}
