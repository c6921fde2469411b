import type { Actor } from '../services/index.js';
import type { Caller, ListQuery, Page } from './deps.js';

/** What the CloudStack port needs of a service to answer a list command. */
type Lister<T, F> = {
  list(actor: Actor, f: F): Promise<{ items: readonly T[]; total?: number }>;
  get(actor: Actor, id: string): Promise<T>;
};

export const actorOf = (c: Caller): Actor => ({
  accountId: c.accountId,
  userId: c.userId,
  role: c.role,
  via: 'api-key',
});

/** A list, or with CloudStack's `id` filter the service's get (NOT_FOUND answers 431, as CloudStack does). */
export async function listOrGet<T, F>(
  svc: Lister<T, F>,
  c: Caller,
  q: ListQuery,
  filter: F,
): Promise<Page<T>> {
  const id = q.filter['id'];
  if (id) return { items: [await svc.get(actorOf(c), id)], total: 1 };
  const page = await svc.list(actorOf(c), { ...filter, page: q.page, pageSize: q.pageSize, withTotal: true });
  return { items: page.items, total: page.total ?? page.items.length };
}
