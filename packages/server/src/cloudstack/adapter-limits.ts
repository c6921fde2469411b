import { StrataError } from '@strata/core';
import type { Services } from '../services/index.js';
import { actorOf } from './adapter-kit.js';
import type { Caller, CloudStackServices } from './deps.js';

/** CloudStack names an account by its name; Strata's limits are kept by account id. */
export function resourceLimitsPort(s: Services): CloudStackServices['resourceLimits'] {
  const account = async (c: Caller, name: string | undefined) => {
    if (name === undefined) return s.accounts.get(actorOf(c), c.accountId);
    const found = (await s.accounts.list(actorOf(c), { name, limit: 1 })).items[0];
    if (!found) throw new StrataError('NOT_FOUND', { kind: 'account', id: name });
    return found;
  };
  return {
    list: async (c, name, kind) => {
      const a = await account(c, name);
      return {
        accountId: a.id,
        accountName: a.name,
        limits: await s.resourceLimits.list(actorOf(c), a.id, kind),
      };
    },
    set: async (c, name, kind, max) => {
      const a = await account(c, name);
      const limit = await s.resourceLimits.set(actorOf(c), a.id, kind, max);
      return { accountId: a.id, accountName: a.name, limits: [limit] };
    },
  };
}
