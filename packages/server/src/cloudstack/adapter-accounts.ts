import { StrataError, validateName } from '@strata/core';
import type { Services, User } from '../services/index.js';
import { actorOf, listOrGet } from './adapter-kit.js';
import type { Caller, CloudStackServices, CsUser, ListQuery } from './deps.js';

const f = (q: ListQuery, k: string): string | undefined => q.filter[k];

/** What the port tells the server: a role change must reach cached credentials at once. */
export interface AccountHooks {
  readonly rolesChanged?: (accountId: string) => void;
}

/** Accounts, users, keys and the audit trail for the CloudStack port: renaming only, rules stay in the services. */
export function accountsPort(s: Services, hooks: AccountHooks = {}): CloudStackServices['accounts'] {
  /** listUsers answers the account's name too: one read per distinct account of the page. */
  const withAccountNames = async (c: Caller, users: readonly User[]): Promise<CsUser[]> => {
    const names = new Map<string, string>();
    for (const id of new Set(users.map((u) => u.accountId)))
      names.set(id, (await s.accounts.get(actorOf(c), id)).name);
    const out: CsUser[] = [];
    for (const u of users) {
      const keys = (await s.apiKeys.list(actorOf(c), { userId: u.id, limit: 500 })).items;
      const live = keys
        .filter((k) => k.revokedAt === null)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      out.push({
        ...u,
        accountName: names.get(u.accountId) ?? '',
        ...(live[0] ? { apiKey: live[0].apiKey } : {}),
      });
    }
    return out;
  };
  return {
    list: (c, q) => listOrGet(s.accounts, c, q, { name: f(q, 'name') }),
    listUsers: async (c, q) => {
      const page = await listOrGet(
        { list: (a, g) => s.accounts.listUsers(a, g), get: (a, id) => s.accounts.getUser(a, id) },
        c,
        q,
        {
          accountId: f(q, 'accountId'),
          username: f(q, 'username'),
        },
      );
      return { items: await withAccountNames(c, page.items), total: page.total };
    },
    createUser: async (c, i) => {
      const account = (await s.accounts.list(actorOf(c), { name: i.accountName, limit: 1 })).items[0];
      if (!account) throw new StrataError('NOT_FOUND', { kind: 'account', id: i.accountName });
      const user = await s.accounts.createUser(actorOf(c), {
        accountId: account.id,
        username: i.username,
        password: i.password,
        profile: i.profile,
      });
      return { ...user, accountName: account.name };
    },
    createAccount: async (c, i) => {
      // The user's input is checked before the account exists, so a refused one leaves nothing.
      if (typeof i.password !== 'string' || i.password.length < 8)
        throw new StrataError('INVALID_ARGUMENT', {
          field: 'password',
          reason: 'must be at least 8 characters',
        });
      validateName('username', i.username, 128);
      const taken = await s.accounts.listUsers(actorOf(c), { username: i.username, limit: 1 });
      if (taken.items.length > 0) throw new StrataError('ALREADY_EXISTS', { kind: 'user', name: i.username });
      const account = await s.accounts.create(actorOf(c), { name: i.name, role: i.role });
      const user = await s.accounts.createUser(actorOf(c), {
        accountId: account.id,
        username: i.username,
        password: i.password,
        profile: i.profile,
      });
      return { account, user: { ...user, accountName: account.name } };
    },
    updateUser: async (c, id, profile) => {
      const user = await s.accounts.updateUser(actorOf(c), id, profile);
      return (await withAccountNames(c, [user]))[0]!;
    },
    deleteUser: (c, id) => s.roles.remove(actorOf(c), id),
    setUserDisabled: async (c, id, disabled) => {
      const user = await s.roles.setDisabled(actorOf(c), id, disabled);
      return (await withAccountNames(c, [user]))[0]!;
    },
    setRole: async (c, i) => {
      const account = i.id
        ? await s.accounts.get(actorOf(c), i.id)
        : (await s.accounts.list(actorOf(c), { name: i.accountName ?? '', limit: 1 })).items[0];
      if (!account) throw new StrataError('NOT_FOUND', { kind: 'account', id: i.accountName ?? '' });
      if (i.role === undefined) return account;
      const updated = await s.accountRoles.setRole(actorOf(c), account.id, i.role);
      hooks.rolesChanged?.(account.id);
      return updated;
    },
    registerKeys: async (c, userId) => {
      const key = await s.apiKeys.create(actorOf(c), { userId });
      return { apiKey: key.apiKey, secretKey: key.secretKey };
    },
    auditEvents: async (c, q) => {
      const page = await s.audit.list(actorOf(c), {
        kind: f(q, 'kind'),
        since: f(q, 'since'),
        until: f(q, 'until'),
        page: q.page,
        pageSize: q.pageSize,
        withTotal: true,
      });
      return { items: page.items, total: page.total ?? page.items.length };
    },
  };
}
