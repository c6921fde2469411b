import { StrataError, ROLES, type Role } from '@strata/core';
import { body, need, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';
import * as r from '../render-accounts.js';
import { opt } from './infra.js';

/**
 * createAccount and updateUser: an account with its first user, and a user's name, e-mail and time
 * zone (kept as given so a tool that declares them finds them unchanged). Passwords are never in
 * an answer.
 */
export const PROFILE_PARAMS = {
  firstname: { type: 'string', description: "the user's first name (kept, shown by listUsers)" },
  lastname: { type: 'string', description: "the user's last name (kept)" },
  email: { type: 'string', description: 'kept and shown; Strata sends no mail' },
  timezone: { type: 'string', description: 'kept and shown; Strata answers times in UTC' },
} as const;

export const profileOf = (p: Parsed) => ({
  ...opt('firstName', read.str(p, 'firstname')),
  ...opt('lastName', read.str(p, 'lastname')),
  ...opt('email', read.str(p, 'email')),
  ...opt('timezone', read.str(p, 'timezone')),
});

/** The role of a new account: roleid (a Strata role, as listAccounts answers it) or accounttype. */
function roleOf(p: Parsed): Role {
  const roleId = read.str(p, 'roleid');
  if (roleId !== undefined) {
    const role = ROLES.find((x) => x === roleId);
    if (!role)
      throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
        command: 'createAccount',
        param: 'roleid',
        value: roleId,
        reason: `no such role (${ROLES.join(', ')})`,
      });
    return role;
  }
  const type = read.num(p, 'accounttype') ?? 0;
  const role = ROLES.find((x) => r.ACCOUNT_TYPE[x] === type);
  if (!role)
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command: 'createAccount',
      param: 'accounttype',
      value: String(type),
      reason: 'must be 0 (User), 1 (Admin) or 2 (DomainAdmin)',
    });
  return role;
}

export const createAccount: Command = {
  name: 'createAccount',
  description: 'Creates an account with its first user (operator only); the account holds the role given',
  isAsync: false,
  entity: 'account',
  params: {
    username: { type: 'string', required: true, description: "the first user's login name" },
    password: { type: 'string', required: true, description: 'at least 8 characters; never answered' },
    account: { type: 'string', description: 'the account name (default: the username)' },
    accounttype: { type: 'integer', description: '0 User (default), 1 Admin, 2 DomainAdmin (account admin)' },
    roleid: { type: 'string', description: 'admin, account-admin or user (wins over accounttype)' },
    domainid: { type: 'uuid', description: 'accepted for compatibility; Strata has one domain' },
    networkdomain: { type: 'string', description: 'accepted for compatibility; Strata has no networks' },
    ...PROFILE_PARAMS,
  },
  async handler(ctx) {
    const p = ctx.params;
    const username = read.required(read.str(p, 'username'));
    const made = await need(ctx, 'accounts').createAccount(ctx.caller, {
      name: read.str(p, 'account') ?? username,
      role: roleOf(p),
      username,
      password: read.required(read.str(p, 'password')),
      profile: profileOf(p),
    });
    return body({ account: { ...r.account(made.account), user: [r.user(made.user)] } });
  },
};

export const updateUser: Command = {
  name: 'updateUser',
  description:
    "Changes a user's first and last name, e-mail and time zone (the user itself, its account admin or an operator)",
  isAsync: false,
  entity: 'user',
  params: {
    id: { type: 'uuid', required: true, description: 'the user' },
    ...PROFILE_PARAMS,
    username: { type: 'string', description: 'not supported: Strata does not rename users' },
    password: { type: 'string', description: 'not supported here: refused' },
  },
  async handler(ctx) {
    const p = ctx.params;
    for (const param of ['username', 'password'])
      if (read.str(p, param) !== undefined)
        throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
          command: 'updateUser',
          param,
          // a password is never echoed, not even in an error
          value: param === 'password' ? '(hidden)' : (read.str(p, param) ?? ''),
          reason:
            param === 'password' ? 'passwords are not changed through this command' : 'users are not renamed',
        });
    const user = await need(ctx, 'accounts').updateUser(
      ctx.caller,
      read.required(read.str(p, 'id')),
      profileOf(p),
    );
    return body({ user: r.user(user) });
  },
};

export const getUserKeys: Command = {
  name: 'getUserKeys',
  description:
    "Answers a user's newest API key; never its secret, which Strata shows once, when registerUserKeys issues it",
  isAsync: false,
  entity: 'userkeys',
  params: { id: { type: 'uuid', required: true, description: 'the user' } },
  async handler(ctx) {
    const id = read.required(read.str(ctx.params, 'id'));
    const [user] = (
      await need(ctx, 'accounts').listUsers(ctx.caller, { page: 1, pageSize: 1, filter: { id } })
    ).items;
    if (!user) throw new StrataError('NOT_FOUND', { kind: 'user', id });
    return body({ userkeys: user.apiKey ? { apikey: user.apiKey } : {} });
  },
};

/** disableUser and enableUser: synchronous here (CloudStack answers disableUser with a job). */
const userSwitch = (name: string, disabled: boolean, description: string): Command => ({
  name,
  description,
  isAsync: false,
  entity: 'user',
  params: { id: { type: 'uuid', required: true, description: 'the user' } },
  async handler(ctx) {
    const id = read.required(read.str(ctx.params, 'id'));
    return body({ user: r.user(await need(ctx, 'accounts').setUserDisabled(ctx.caller, id, disabled)) });
  },
});

export const disableUser = userSwitch(
  'disableUser',
  true,
  "Disables a user: its logins, sessions and API keys are refused (whoever may set the user's role)",
);
export const enableUser = userSwitch('enableUser', false, 'Enables a disabled user again');

export const deleteUser: Command = {
  name: 'deleteUser',
  description:
    "Deletes a user with its sessions and API keys (whoever may set the user's role); the account keeps its resources",
  isAsync: false,
  entity: 'user',
  params: { id: { type: 'uuid', required: true, description: 'the user' } },
  async handler(ctx) {
    await need(ctx, 'accounts').deleteUser(ctx.caller, read.required(read.str(ctx.params, 'id')));
    return body({ success: true });
  },
};
