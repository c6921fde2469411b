import {
  StrataError,
  type AccessRequest,
  type AccessResult,
  type ConnectionInfo,
  type StorageContext,
} from '@strata/core';
import { EINVAL, ENOENT, errnoOf, unlessMissing } from './cli.js';
import type { Pool } from './meta.js';
import { hostHash, hostUser, imageName } from './names.js';
import { grantIndexKey, parseGrantKey, type PoolIndex } from './pool-index.js';
import { imageInfo } from './volumes.js';

export interface AccessDeps extends Pool {
  readonly index: PoolIndex;
  readonly monitors: readonly string[];
  /** Keys and caps this process last wrote, per cephx user: spares the slow mon commands. */
  readonly authCache: Map<string, { key: string; caps: string; at: number }>;
}

/** How long a cached key/caps pair is trusted; another server may have changed the user since. */
const AUTH_CACHE_MS = 30_000;

function cached(d: AccessDeps, user: string, caps?: string): string | null {
  const hit = d.authCache.get(user);
  if (!hit || Date.now() - hit.at > AUTH_CACHE_MS || (caps !== undefined && hit.caps !== caps)) return null;
  return hit.key;
}

/**
 * OSD caps that open exactly the granted images: read the pool's directory objects, read-write
 * the image's own header, data and object map, read-only its clone parents (a clone reads
 * unwritten blocks from them). A host holding this key cannot open any other image.
 */
async function osdCaps(
  ctx: StorageContext,
  d: AccessDeps,
  volumeIds: readonly string[],
  known: Known,
): Promise<string> {
  const pool = d.pool;
  const caps = ['rbd_id.', 'rbd_directory', 'rbd_info', 'rbd_mirroring'].map(
    (o) => `allow rx pool=${pool} object_prefix ${o}`,
  );
  const seen = new Set<string>();
  const add = (id: string, mode: 'rwx' | 'rx'): void => {
    for (const kind of ['rbd_header', 'rbd_data', 'rbd_object_map'])
      caps.push(`allow ${mode} pool=${pool} object_prefix ${kind}.${id}`);
  };
  // the images' own infos side by side (one rbd process each); their clone chains after
  const infos = await Promise.all(
    volumeIds.map(async (v) => known.infos?.get(v) ?? (await imageInfo(ctx, d, imageName(v)))),
  );
  for (let info of infos) {
    if (!info) continue;
    add(info.id, 'rwx');
    // Walk the clone chain (clones of clones) to the base image.
    while (info?.parent && !seen.has(info.parent.image)) {
      seen.add(info.parent.image);
      const parent: Awaited<ReturnType<typeof imageInfo>> = await imageInfo(
        ctx,
        { ...d, pool: info.parent.pool },
        info.parent.image,
      );
      if (!parent) break;
      add(parent.id, 'rx');
      info = parent;
    }
  }
  return caps.join(', ');
}

interface AuthEntry {
  readonly entity: string;
  readonly key: string;
}

async function hostKey(ctx: StorageContext, d: AccessDeps, user: string): Promise<string | null> {
  const got = await unlessMissing(
    () => d.cli.cephJson<AuthEntry[]>(ctx, ['auth', 'get', `client.${user}`]),
    null,
  );
  return got?.[0]?.key ?? null;
}

/**
 * What the caller read already in this call (the grant index, an image's info): not read again,
 * each read being a CLI process of a second or more on a loaded host.
 */
interface Known {
  readonly entries?: Record<string, string>;
  readonly infos?: ReadonlyMap<string, ImageInfo>;
}

type ImageInfo = NonNullable<Awaited<ReturnType<typeof imageInfo>>>;

export async function grantedVolumes(
  ctx: StorageContext,
  d: AccessDeps,
  hostId: string,
  entries?: Record<string, string>,
): Promise<string[]> {
  const hash = hostHash(hostId);
  return Object.keys(entries ?? (await d.index.entries(ctx)))
    .map(parseGrantKey)
    .filter((g) => g !== null && g.hostHash === hash)
    .map((g) => g!.volumeId);
}

/**
 * Brings the host's cephx user in line with its grants: caps for exactly its volumes, or no
 * user at all when none is left (unless `keep`: a user that opens nothing). Answers the key.
 */
export async function syncHostUser(
  ctx: StorageContext,
  d: AccessDeps,
  hostId: string,
  keep = false,
  known: Known = {},
): Promise<string | null> {
  const user = hostUser(d.pool, hostId);
  const volumes = await grantedVolumes(ctx, d, hostId, known.entries);
  if (volumes.length === 0 && !keep) {
    d.authCache.delete(user);
    await unlessMissing(() => d.cli.run(ctx, 'ceph', ['auth', 'rm', `client.${user}`], 'auth rm'), '');
    return null;
  }
  const caps = ['mon', 'profile rbd', 'osd', await osdCaps(ctx, d, volumes, known)];
  const capsText = caps.join('\n');
  const hit = cached(d, user, capsText);
  if (hit !== null) return hit;
  d.authCache.delete(user);
  const remember = (key: string): string => {
    d.authCache.set(user, { key, caps: capsText, at: Date.now() });
    return key;
  };
  try {
    // One mon command in the common case (caps unchanged): get-or-create answers the key.
    const made = await d.cli.cephJson<AuthEntry[]>(ctx, ['auth', 'get-or-create', `client.${user}`, ...caps]);
    const key = made[0]?.key;
    if (key) return remember(key);
  } catch (err) {
    if (errnoOf(err) !== EINVAL) throw err; // EINVAL: the user exists with other caps
  }
  await d.cli.run(ctx, 'ceph', ['auth', 'caps', `client.${user}`, ...caps], 'auth caps');
  const key = await hostKey(ctx, d, user);
  if (!key)
    throw new StrataError('STORAGE_BACKEND_FAILED', {
      backend: 'ceph',
      operation: 'auth get',
      reason: `no key for client.${user}`,
    });
  return remember(key);
}

async function requireVolume(ctx: StorageContext, d: AccessDeps, volumeId: string) {
  const info = await imageInfo(ctx, d, imageName(volumeId));
  if (!info) throw new StrataError('NOT_FOUND', { kind: 'volume', id: volumeId });
  return info;
}

export async function grantAccess(
  ctx: StorageContext,
  d: AccessDeps,
  req: AccessRequest,
): Promise<AccessResult> {
  const [info, entries] = await Promise.all([requireVolume(ctx, d, req.volumeId), d.index.entries(ctx)]);
  const key = grantIndexKey(req.volumeId, hostHash(req.host.id));
  const changed = entries[key] === undefined;
  if (changed) await d.index.set(ctx, key, req.host.id);
  await syncHostUser(ctx, d, req.host.id, false, {
    entries: { ...entries, [key]: req.host.id },
    infos: new Map([[req.volumeId, info]]),
  });
  return { changed, enforced: true };
}

export async function revokeAccess(
  ctx: StorageContext,
  d: AccessDeps,
  req: AccessRequest,
): Promise<AccessResult> {
  const key = grantIndexKey(req.volumeId, hostHash(req.host.id));
  const entries = await d.index.entries(ctx);
  const changed = entries[key] !== undefined;
  if (changed) await d.index.remove(ctx, key);
  const { [key]: _gone, ...left } = entries;
  await syncHostUser(ctx, d, req.host.id, false, { entries: left });
  return { changed, enforced: true };
}

/** Removes every grant of one volume (before it is deleted). */
export async function revokeAll(ctx: StorageContext, d: AccessDeps, volumeId: string): Promise<void> {
  const entries = await d.index.entries(ctx);
  for (const [key, hostId] of Object.entries(entries)) {
    if (parseGrantKey(key)?.volumeId !== volumeId) continue;
    await d.index.remove(ctx, key);
    await syncHostUser(ctx, d, hostId);
  }
}

export async function connectionInfo(
  ctx: StorageContext,
  d: AccessDeps,
  req: AccessRequest,
): Promise<ConnectionInfo> {
  const info = await requireVolume(ctx, d, req.volumeId);
  const user = hostUser(d.pool, req.host.id);
  let key =
    cached(d, user) ??
    (await hostKey(ctx, d, user).catch((err: unknown) => {
      if (errnoOf(err) === ENOENT) return null;
      throw err;
    }));
  // Details for a host not (yet) granted: its key exists but its caps open none of this pool's
  // volumes until grantAccess; the caps, not the details, are the access control.
  key ??= await syncHostUser(ctx, d, req.host.id, true);
  if (key === null)
    throw new StrataError('STORAGE_ACCESS_REQUIRED', {
      host: req.host.id,
      what: 'a cephx key',
      pool: d.pool,
    });
  return {
    volumeId: req.volumeId,
    sizeBytes: info.size,
    connection: {
      adaptor: 'rbd',
      pool: d.pool,
      image: imageName(req.volumeId),
      monitors: d.monitors,
      user,
      secret: { usage: `strata-ceph-${user}`, value: key },
    },
    // librbd enforces max and burst; nothing can enforce a minimum, so nothing is left for QEMU.
    frontendQos: null,
  };
}
