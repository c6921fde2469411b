import { body, listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render-accounts.js';

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
    email: { type: 'string', description: 'accepted for compatibility; not kept' },
    firstname: { type: 'string', description: 'accepted for compatibility; not kept' },
    lastname: { type: 'string', description: 'accepted for compatibility; not kept' },
    domainid: { type: 'uuid', description: 'accepted for compatibility; Strata has one domain' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const user = await need(ctx, 'accounts').createUser(ctx.caller, {
      accountName: read.required(read.str(p, 'account')),
      username: read.required(read.str(p, 'username')),
      password: read.required(read.str(p, 'password')),
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
