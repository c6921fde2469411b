import { inUse } from './in-use.js';
import {
  MAX_IOPS,
  StrataError,
  storagePoolMachine,
  validateName,
  type PoolScope,
  type StoragePool,
  type StoragePoolState,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { sealPoolSecrets, type SecretBox } from '../secrets/index.js';
import { isAdmin, requireAdmin, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { Where, iso, listPage, num, uniqueAsExists, type ListQuery, type Page } from './sql.js';
import { maskDetails, maskUrl } from './secret-details.js';
import { storageTagsFromRow, storageTagsOf } from './storage-tags.js';
import { applyTransition } from './transition.js';

/** A pool with what its live volumes use (admission reads the same sums). */
export interface StoragePoolView extends StoragePool {
  readonly usedBytes: number;
  readonly usedMinIops: number;
  readonly volumeCount: number;
}

/**
 * What a tenant sees of a pool: enough to choose one for a volume, nothing of where or how the
 * storage is reached (no URL, details, capacity or cluster).
 */
export type PoolSummary = Pick<
  StoragePoolView,
  'id' | 'zoneId' | 'name' | 'provider' | 'state' | 'createdAt'
>;

export function poolSummary(p: StoragePoolView): PoolSummary {
  return {
    id: p.id,
    zoneId: p.zoneId,
    name: p.name,
    provider: p.provider,
    state: p.state,
    createdAt: p.createdAt,
  };
}

/** The operator's view: everything, with stored secrets masked (they are write-only). */
export function poolForOperator(p: StoragePoolView): StoragePoolView {
  return { ...p, url: maskUrl(p.url), details: maskDetails(p.details) };
}

export interface CreatePoolInput {
  readonly name: string;
  readonly zoneId: string;
  readonly clusterId?: string | null;
  readonly provider: string;
  readonly scope: PoolScope;
  readonly managed: boolean;
  readonly capacityBytes: number;
  readonly capacityIops: number;
  readonly url: string;
  readonly details?: Record<string, string>;
  /** Tags a disk offering may require of the pools its volumes go to. */
  readonly storageTags?: readonly string[];
}

/**
 * Volumes in these states hold space and IOPS in their pool. The pool's used_* counters are kept
 * by a trigger on volumes (migration 003) with this same rule.
 */
export const LIVE_VOLUME = `state NOT IN ('Destroyed')`;

export const toPool = (r: Record<string, unknown>): StoragePoolView => ({
  id: String(r['id']),
  zoneId: String(r['zone_id']),
  clusterId: (r['cluster_id'] as string | null) ?? null,
  name: String(r['name']),
  provider: String(r['provider']),
  scope: r['scope'] as PoolScope,
  managed: Boolean(r['managed']),
  state: r['state'] as StoragePoolState,
  capacityBytes: num(r['capacity_bytes']),
  capacityIops: num(r['capacity_iops']),
  url: String(r['url']),
  details: (r['details'] as Record<string, string> | null) ?? {},
  storageTags: storageTagsFromRow(r),
  usedBytes: num(r['used_bytes'] ?? 0),
  usedMinIops: num(r['used_min_iops'] ?? 0),
  volumeCount: num(r['volume_count'] ?? 0),
  createdAt: iso(r['created_at']),
});

function whole(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: `must be a whole number from 0 to ${max}` });
  }
  return value;
}

export type PoolFilter = ListQuery & {
  zoneId?: string;
  clusterId?: string;
  provider?: string;
  state?: string;
  name?: string;
};

export class StoragePoolService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
    private readonly secrets: SecretBox,
  ) {}

  async create(actor: Actor, input: CreatePoolInput): Promise<StoragePoolView> {
    requireAdmin(actor, 'Creating a storage pool');
    const name = validateName('name', input.name);
    const provider = validateName('provider', input.provider, 64);
    if (!['host', 'cluster', 'zone'].includes(input.scope)) {
      throw new StrataError('INVALID_ARGUMENT', { field: 'scope', reason: 'must be host, cluster or zone' });
    }
    if (input.scope !== 'zone' && !input.clusterId) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'clusterId',
        reason: `is required for scope ${input.scope}`,
      });
    }
    const capacityBytes = whole('capacityBytes', input.capacityBytes, Number.MAX_SAFE_INTEGER);
    const capacityIops = whole('capacityIops', input.capacityIops, MAX_IOPS * 1000);
    const url = validateName('url', input.url, 2048);
    const tags = storageTagsOf('storageTags', input.storageTags ?? []);
    const zone = await this.db.query('SELECT 1 FROM zones WHERE id = $1', [input.zoneId]);
    if (!zone.length) throw new StrataError('NOT_FOUND', { kind: 'zone', id: input.zoneId });
    if (input.clusterId) {
      const c = await this.db.query('SELECT 1 FROM clusters WHERE id = $1 AND zone_id = $2', [
        input.clusterId,
        input.zoneId,
      ]);
      if (!c.length) throw new StrataError('NOT_FOUND', { kind: 'cluster', id: input.clusterId });
    }
    const id = newId('pool');
    await this.secrets
      .sealing(this.db, async (tx, seal) => {
        const sealed = sealPoolSecrets(id, { url, details: input.details ?? {} }, seal);
        await tx.query(
          `INSERT INTO storage_pools (id, zone_id, cluster_id, name, provider, scope, managed, state, capacity_bytes, capacity_iops, url, details, storage_tags)
           VALUES ($1,$2,$3,$4,$5,$6,$7,'Up',$8,$9,$10,$11,$12)`,
          [
            id,
            input.zoneId,
            input.clusterId ?? null,
            name,
            provider,
            input.scope,
            Boolean(input.managed),
            capacityBytes,
            capacityIops,
            sealed.url,
            JSON.stringify(sealed.details),
            JSON.stringify(tags),
          ],
        );
      })
      .catch((e: unknown) => uniqueAsExists(e, 'storage pool', name));
    await this.events.record({
      accountId: null,
      type: 'storage-pool.Created',
      resourceType: 'storage-pool',
      resourceId: id,
    });
    return this.getFull(actor, id);
  }

  /** A tenant gets a PoolSummary, an operator the full pool with secrets masked. */
  async get(actor: Actor, id: string): Promise<StoragePoolView | PoolSummary> {
    const pool = await this.read(id);
    return isAdmin(actor) ? poolForOperator(pool) : poolSummary(pool);
  }

  /** The operator's view of one pool (AUTH_FORBIDDEN for anyone else). */
  async getFull(actor: Actor, id: string): Promise<StoragePoolView> {
    requireAdmin(actor, 'Reading a storage pool');
    return poolForOperator(await this.read(id));
  }

  private async read(id: string): Promise<StoragePoolView> {
    const row = (await this.db.query('SELECT * FROM storage_pools WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id });
    return toPool(row);
  }

  async list(actor: Actor, f: PoolFilter = {}): Promise<Page<StoragePoolView | PoolSummary>> {
    if (isAdmin(actor)) return this.listFull(actor, f);
    const page = await this.listRows(f);
    return { ...page, items: page.items.map(poolSummary) };
  }

  /** The operator's list (AUTH_FORBIDDEN for anyone else). */
  async listFull(actor: Actor, f: PoolFilter = {}): Promise<Page<StoragePoolView>> {
    requireAdmin(actor, 'Listing storage pools with their details');
    const page = await this.listRows(f);
    return { ...page, items: page.items.map(poolForOperator) };
  }

  private async listRows(f: PoolFilter): Promise<Page<StoragePoolView>> {
    const where = new Where()
      .eq('t.zone_id', f.zoneId)
      .eq('t.cluster_id', f.clusterId)
      .eq('t.provider', f.provider)
      .eq('t.state', f.state)
      .eq('t.name', f.name);
    return listPage(this.db, { columns: 't.*', from: 'storage_pools t', where }, f, toPool);
  }

  async apply(
    actor: Actor,
    id: string,
    event: 'EnterMaintenance' | 'ExitMaintenance',
  ): Promise<StoragePoolView> {
    requireAdmin(actor, `Storage pool ${event}`);
    await this.db.transaction((tx) =>
      applyTransition(tx, this.events, {
        table: 'storage_pools',
        kind: 'storage-pool',
        machine: storagePoolMachine,
        id,
        event,
      }),
    );
    return this.getFull(actor, id);
  }

  /** Replaces a pool's storage tags (volumes already there stay: tags steer new placements). */
  async setTags(actor: Actor, id: string, storageTags: readonly string[]): Promise<StoragePoolView> {
    requireAdmin(actor, "Changing a storage pool's tags");
    const tags = storageTagsOf('storageTags', storageTags);
    const rows = await this.db.query(
      'UPDATE storage_pools SET storage_tags = $2 WHERE id = $1 RETURNING id',
      [id, JSON.stringify(tags)],
    );
    if (!rows.length) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id });
    return this.getFull(actor, id);
  }

  /** Removal is refused while live volumes remain in the pool. */
  async remove(actor: Actor, id: string): Promise<StoragePoolView> {
    requireAdmin(actor, 'Removing a storage pool');
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT id FROM storage_pools WHERE id = $1 FOR UPDATE', [id]);
      const live = await tx.query(
        `SELECT id FROM volumes WHERE pool_id = $1 AND ${LIVE_VOLUME} ORDER BY id LIMIT 51`,
        [id],
      );
      if (live.length) throw inUse('POOL_IN_USE', { pool: id }, live);
      // a moved volume's former copy kept here for its snapshots
      const kept = await tx.query(
        'SELECT volume_id AS id FROM volume_moved_sources WHERE pool_id = $1 ORDER BY volume_id LIMIT 51',
        [id],
      );
      if (kept.length) throw inUse('POOL_IN_USE', { pool: id }, kept);
      await applyTransition(tx, this.events, {
        table: 'storage_pools',
        kind: 'storage-pool',
        machine: storagePoolMachine,
        id,
        event: 'Remove',
      });
    });
    return this.getFull(actor, id);
  }
}
