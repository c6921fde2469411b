import { StrataError, ROLES, type Role } from '@strata/core';
import { body, listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render-accounts.js';
import { PROFILE_PARAMS, profileOf } from './account-users.js';

/** CloudStack's account type number to Strata's role (listAccounts answers the reverse). */
function roleOfType(type: number): Role {
  const role = ROLES.find((x) => r.ACCOUNT_TYPE[x] === type);
  if (!role)
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command: 'updateAccount',
      param: 'accounttype',
      value: String(type),
      reason: 'must be 0 (User), 1 (Admin) or 2 (DomainAdmin)',
    });
  return role;
}

function roleOfId(id: string): Role {
  const role = ROLES.find((x) => x === id);
  if (!role)
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command: 'updateAccount',
      param: 'roleid',
      value: id,
      reason: `no such role (listAccounts' roleid: ${ROLES.join(', ')})`,
    });
  return role;
}

export const listAccounts: Command = {
  name: 'listAccounts',
  description: 'Lists accounts (an operator all, anyone else its own), with accounttype and roletype',
  isAsync: false,
  entity: 'account',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the account' },
    name: { type: 'string', description: 'the account name' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, { id: read.str(p, 'id'), name: read.str(p, 'name') });
    const page = await need(ctx, 'accounts').list(ctx.caller, q);
    return listBody('account', page.total, page.items.map(r.account));
  },
};

export const listUsers: Command = {
  name: 'listUsers',
  description: 'Lists users (an operator all, an account admin its account, a user itself) with their role',
  isAsync: false,
  entity: 'user',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the user' },
    accountid: { type: 'uuid', description: 'users of this account' },
    username: { type: 'string', description: 'the user name' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      accountId: read.str(p, 'accountid'),
      username: read.str(p, 'username'),
    });
    const page = await need(ctx, 'accounts').listUsers(ctx.caller, q);
    return listBody('user', page.total, page.items.map(r.user));
  },
};

export const createUser: Command = {
  name: 'createUser',
  description:
    "Creates a user in an account (an operator, or the account's account admin); it holds the account's role",
  isAsync: false,
  entity: 'user',
  params: {
    account: { type: 'string', required: true, description: 'the name of the account' },
    username: { type: 'string', required: true, description: 'the login name' },
    password: { type: 'string', required: true, description: 'at least 8 characters' },
    ...PROFILE_PARAMS,
    domainid: { type: 'uuid', description: 'accepted for compatibility; Strata has one domain' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const user = await need(ctx, 'accounts').createUser(ctx.caller, {
      accountName: read.required(read.str(p, 'account')),
      username: read.required(read.str(p, 'username')),
      password: read.required(read.str(p, 'password')),
      profile: profileOf(p),
    });
    return body({ user: r.user(user) });
  },
};

export const registerUserKeys: Command = {
  name: 'registerUserKeys',
  description:
    'Issues a new API key for a user (itself, or a user the caller manages); the secret is shown once',
  isAsync: false,
  entity: 'userkeys',
  params: { id: { type: 'uuid', required: true, description: 'the user' } },
  async handler(ctx) {
    const keys = await need(ctx, 'accounts').registerKeys(
      ctx.caller,
      read.required(read.str(ctx.params, 'id')),
    );
    return body({ userkeys: { apikey: keys.apiKey, secretkey: keys.secretKey } });
  },
};

/** CloudStack sends `yyyy-MM-dd` or `yyyy-MM-dd HH:mm:ss`; both are read as UTC. */
function csTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(value);
  return m ? `${m[1]}T${m[2]}Z` : value;
}

export const listEvents: Command = {
  name: 'listEvents',
  description: 'Lists the audit trail: failed authentication, role changes, API keys (operator only)',
  isAsync: false,
  entity: 'event',
  params: {
    ...PAGE_PARAMS,
    type: {
      type: 'string',
      description: 'auth.failed, role.changed, api-key.created, api-key.revoked or agent.refused',
    },
    startdate: { type: 'string', description: 'events at or after this time (yyyy-MM-dd[ HH:mm:ss], UTC)' },
    enddate: { type: 'string', description: 'events before this time (yyyy-MM-dd[ HH:mm:ss], UTC)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      kind: read.str(p, 'type'),
      since: csTime(read.str(p, 'startdate')),
      until: csTime(read.str(p, 'enddate')),
    });
    const page = await need(ctx, 'accounts').auditEvents(ctx.caller, q);
    return listBody('event', page.total, page.items.map(r.auditEvent));
  },
};

export const updateAccount: Command = {
  name: 'updateAccount',
  description:
    "Changes an account's role (operator only): roleid as listAccounts answers it, or its accounttype; every user of the account takes it",
  isAsync: false,
  entity: 'account',
  params: {
    id: { type: 'uuid', description: 'the account (or give account)' },
    account: { type: 'string', description: 'the name of the account (or give id)' },
    domainid: { type: 'uuid', description: 'accepted for compatibility; Strata has one domain' },
    roleid: {
      type: 'uuid',
      description: 'the new role: admin, account-admin or user (roleid in listAccounts)',
    },
    accounttype: {
      type: 'integer',
      description:
        "the new role as an account type: 1 Admin, 2 DomainAdmin, 0 User (Strata; roleid is CloudStack's)",
    },
    newname: { type: 'string', description: 'not supported: Strata does not rename accounts' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const id = read.str(p, 'id');
    const accountName = read.str(p, 'account');
    if (id === undefined && accountName === undefined)
      throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command: 'updateAccount', param: 'id' });
    if (read.str(p, 'newname') !== undefined)
      throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
        command: 'updateAccount',
        param: 'newname',
        value: read.str(p, 'newname') ?? '',
        reason: 'Strata does not rename accounts',
      });
    const roleId = read.str(p, 'roleid');
    const type = read.num(p, 'accounttype');
    const byId = roleId === undefined ? undefined : roleOfId(roleId);
    const byType = type === undefined ? undefined : roleOfType(type);
    if (byId !== undefined && byType !== undefined && byId !== byType)
      throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
        command: 'updateAccount',
        param: 'accounttype',
        value: String(type),
        reason: `the role ${byId} is account type ${r.ACCOUNT_TYPE[byId]}`,
      });
    const role = byId ?? byType;
    const account = await need(ctx, 'accounts').setRole(ctx.caller, {
      ...(id !== undefined ? { id } : {}),
      ...(accountName !== undefined ? { accountName } : {}),
      ...(role !== undefined ? { role } : {}),
    });
    return body({ account: r.account(account) });
  },
};
