import type { Vm } from '@strata/core';
import type { Services } from '../services/index.js';
import { actorOf, listOrGet } from './adapter-kit.js';
import type { CloudStackServices, CsVm, ListQuery, Page } from './deps.js';

const f = (q: ListQuery, k: string): string | undefined => q.filter[k];

/** Service offerings, and the VMs' view with the offering each was deployed with. */
export function serviceOfferingsPort(s: Services): CloudStackServices['serviceOfferings'] {
  return {
    list: (c, q) => listOrGet(s.serviceOfferings, c, q, { name: f(q, 'name') }),
    create: (c, i) => s.serviceOfferings.create(actorOf(c), i),
    update: (c, id, i) => s.serviceOfferings.update(actorOf(c), id, i),
  };
}

/** Adds each VM's service offering (one query for the page). */
export async function withOfferings(s: Services, page: Page<Vm>): Promise<Page<CsVm>> {
  const offerings = await s.serviceOfferings.ofVms(page.items.map((v) => v.id));
  return {
    total: page.total,
    items: page.items.map((v) => {
      const o = offerings.get(v.id);
      return o ? { ...v, serviceOffering: o } : v;
    }),
  };
}
