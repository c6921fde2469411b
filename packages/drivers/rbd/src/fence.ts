import type { FenceHostRequest, FenceHostResult, StorageContext } from '@strata/core';
import { grantedVolumes, syncHostUser, type AccessDeps } from './access.js';
import { hostHash, hostUser } from './names.js';
import { grantIndexKey } from './pool-index.js';

/** How long a fenced client instance stays blocklisted: past any cephx ticket it still holds. */
export const FENCE_BLOCKLIST_SECONDS = 7 * 24 * 3600;

interface MonSession {
  readonly entity_name?: string;
  readonly con_type?: string;
  readonly addrs?: { readonly addrvec?: ReadonlyArray<{ readonly addr: string; readonly nonce: number }> };
}

/**
 * The client instances (address/nonce, as `rbd status` names watchers) that hold a session as the
 * host's cephx user on any monitor: every librados instance keeps one, so this finds a lost host's
 * QEMU whether or not it has an image open. Hosts may share an IP (all on one machine here):
 * the instance's nonce, never the IP, is what gets blocklisted.
 */
export function clientAddresses(sessions: readonly MonSession[], user: string): string[] {
  const out = new Set<string>();
  for (const s of sessions) {
    if (s.entity_name !== `client.${user}`) continue;
    for (const a of s.addrs?.addrvec ?? []) out.add(`${a.addr}/${a.nonce}`);
  }
  return [...out].sort();
}

async function monNames(ctx: StorageContext, d: AccessDeps): Promise<string[]> {
  const dump = await d.cli.cephJson<{ mons?: Array<{ name: string }> }>(ctx, ['mon', 'dump']);
  return (dump.mons ?? []).map((m) => m.name);
}

/**
 * Fences one host from this pool: its live client instances are blocklisted first (while their
 * sessions still name them), then every grant it holds is removed and its cephx user with it, so
 * no new instance can open anything either. Run again, it finds nothing left to do.
 */
export async function fenceHost(
  ctx: StorageContext,
  d: AccessDeps,
  req: FenceHostRequest,
): Promise<FenceHostResult> {
  const user = hostUser(d.pool, req.host.id);
  const sessions: MonSession[] = [];
  for (const mon of await monNames(ctx, d))
    sessions.push(...(await d.cli.cephJson<MonSession[]>(ctx, ['tell', `mon.${mon}`, 'sessions'])));
  const clients = clientAddresses(sessions, user);
  for (const addr of clients) {
    await d.cli.run(
      ctx,
      'ceph',
      ['osd', 'blocklist', 'add', addr, String(FENCE_BLOCKLIST_SECONDS)],
      'osd blocklist add',
    );
  }
  const volumes = await grantedVolumes(ctx, d, req.host.id);
  for (const volumeId of volumes) await d.index.remove(ctx, grantIndexKey(volumeId, hostHash(req.host.id)));
  await syncHostUser(ctx, d, req.host.id);
  return { enforced: true, volumes: volumes.sort(), sessionsClosed: 0, clientsBlocklisted: clients };
}
