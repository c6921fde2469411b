import { StrataError } from '@strata/core';
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
    return users.map((u) => ({ ...u, accountName: names.get(u.accountId) ?? '' }));
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
      });
      return { ...user, accountName: account.name };
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
