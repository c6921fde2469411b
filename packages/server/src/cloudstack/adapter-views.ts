import type { Vm, Volume } from '@strata/core';
import { placementsOf } from '../services/placement/place-volume.js';
import type { Services } from '../services/index.js';
import { actorOf, listOrGet } from './adapter-kit.js';
import type { TagResourceType } from '../services/tags.js';
import type { Caller, CloudStackServices, CsVm, CsVolume, ListQuery, Page, Tagged } from './deps.js';

const f = (q: ListQuery, k: string): string | undefined => q.filter[k];

/**
 * Service offerings, the VMs' view with the offering each was deployed with, and the volumes' with
 * why placement chose their pool.
 */
export function serviceOfferingsPort(s: Services): CloudStackServices['serviceOfferings'] {
  return {
    list: (c, q) => listOrGet(s.serviceOfferings, c, q, { name: f(q, 'name') }),
    create: (c, i) => s.serviceOfferings.create(actorOf(c), i),
    update: (c, id, i) => s.serviceOfferings.update(actorOf(c), id, i),
  };
}

/** Adds each VM's service offering and tags (one query each for the page). */
export async function withOfferings(s: Services, page: Page<Vm>): Promise<Page<CsVm>> {
  const ids = page.items.map((v) => v.id);
  const offerings = await s.serviceOfferings.ofVms(ids);
  const tags = await s.tags.of('vm', ids);
  return {
    total: page.total,
    items: page.items.map((v) => {
      const o = offerings.get(v.id);
      return { ...v, ...(o ? { serviceOffering: o } : {}), tags: tags.get(v.id) ?? [] };
    }),
  };
}

/**
 * A list with CloudStack's `tags[...]` filter: the caller's resources carrying every tag, read one
 * by one (visibility is the service's get), narrowed by the other filters, then paged.
 */
export async function tagged<T extends { id: string }>(
  s: Services,
  c: Caller,
  q: ListQuery,
  type: TagResourceType,
  get: (id: string) => Promise<T>,
  keep: (item: T) => boolean,
): Promise<Page<T> | null> {
  if (!q.tags || q.tags.length === 0) return null;
  const ids = await s.tags.matching(actorOf(c), type, q.tags);
  const items = (await Promise.all(ids.map((id) => get(id).catch(() => null)))).filter(
    (x): x is Awaited<T> => x !== null && keep(x),
  );
  const start = (q.page - 1) * q.pageSize;
  return { total: items.length, items: items.slice(start, start + q.pageSize) };
}

/** Adds each item's tags (one query for the page). */
export async function withTags<T extends { id: string }>(
  s: Services,
  type: TagResourceType,
  page: Page<T>,
): Promise<Page<Tagged<T>>> {
  const tags = await s.tags.of(
    type,
    page.items.map((x) => x.id),
  );
  return { total: page.total, items: page.items.map((x) => ({ ...x, tags: tags.get(x.id) ?? [] })) };
}

/** Whether an item matches every given filter (absent filters match). */
export function matches(item: object, want: Record<string, string | undefined>): boolean {
  const fields = item as Readonly<Record<string, unknown>>;
  return Object.entries(want).every(([k, v]) => v === undefined || fields[k] === v);
}

/** Resource tags, on the one TagService the REST API uses too. */
export function tagsPort(s: Services): CloudStackServices['tags'] {
  return {
    create: async (c, i) => {
      await s.tags.create(actorOf(c), i);
    },
    remove: async (c, i) => {
      await s.tags.remove(actorOf(c), i);
    },
    list: (c, f) => s.tags.list(actorOf(c), f),
  };
}

/** When each attached volume was last attached: its latest `volume.Attached` event. */
async function attachTimes(s: Services, ids: readonly string[]): Promise<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await s.db.query(
    `SELECT resource_id, MAX(created_at) AS at FROM events
      WHERE resource_type = 'volume' AND type = 'volume.Attached' AND resource_id = ANY($1)
      GROUP BY resource_id`,
    [[...ids]],
  );
  for (const r of rows) out.set(String(r['resource_id']), new Date(r['at'] as string).toISOString());
  return out;
}

/** Adds why placement chose each volume's pool (when it did) and when an attached one was attached. */
export async function withPlacements(s: Services, page: Page<Volume>): Promise<Page<CsVolume>> {
  const reasons = await placementsOf(
    s.db,
    page.items.map((v) => v.id),
  );
  const tags = await s.tags.of(
    'volume',
    page.items.map((v) => v.id),
  );
  const attached = await attachTimes(
    s,
    page.items.filter((v) => v.vmId !== null).map((v) => v.id),
  );
  return {
    total: page.total,
    items: page.items.map((v) => {
      const reason = reasons.get(v.id);
      const at = v.vmId !== null ? attached.get(v.id) : undefined;
      return {
        ...v,
        ...(reason ? { placement: reason } : {}),
        ...(at ? { attachedAt: at } : {}),
        tags: tags.get(v.id) ?? [],
      };
    }),
  };
}
