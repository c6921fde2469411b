import { StrataError, validateName } from '@strata/core';
import type { Database } from '../db/index.js';
import { ensureVisible, isAdmin, type Actor } from './actor.js';
import { Where, iso } from './sql.js';

export const TAG_RESOURCE_TYPES = ['vm', 'volume', 'volume-snapshot', 'vm-snapshot'] as const;
export type TagResourceType = (typeof TAG_RESOURCE_TYPES)[number];

const TABLE: Readonly<Record<TagResourceType, string>> = {
  vm: 'vms',
  volume: 'volumes',
  'volume-snapshot': 'volume_snapshots',
  'vm-snapshot': 'vm_snapshots',
};

export interface Tag {
  readonly resourceType: TagResourceType;
  readonly resourceId: string;
  readonly key: string;
  readonly value: string;
  readonly accountId: string;
  readonly createdAt: string;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** At most this many tags per request: a bound on one statement's work. */
const MAX_TAGS = 100;

const toTag = (r: Record<string, unknown>): Tag => ({
  resourceType: r['resource_type'] as TagResourceType,
  resourceId: String(r['resource_id']),
  key: String(r['key']),
  value: String(r['value']),
  accountId: String(r['account_id']),
  createdAt: iso(r['created_at']),
});

export function tagResourceType(value: unknown): TagResourceType {
  if (typeof value === 'string' && (TAG_RESOURCE_TYPES as readonly string[]).includes(value))
    return value as TagResourceType;
  throw new StrataError('INVALID_ARGUMENT', {
    field: 'resourceType',
    reason: `must be one of ${TAG_RESOURCE_TYPES.join(', ')}`,
  });
}

/**
 * Resource tags: key/value labels on VMs, volumes and their snapshots, owned with the resource's
 * account (visible and changeable by whoever may see the resource). Setting a key again replaces
 * its value.
 */
export class TagService {
  constructor(private readonly db: Database) {}

  /** The resources' owners, each checked visible to the actor (NOT_FOUND otherwise). */
  private async owners(
    actor: Actor,
    type: TagResourceType,
    ids: readonly string[],
  ): Promise<Map<string, string>> {
    if (ids.length === 0 || ids.length > MAX_TAGS)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'resourceIds',
        reason: `must name 1 to ${MAX_TAGS} resources`,
      });
    const rows = await this.db.query(`SELECT id, account_id FROM ${TABLE[type]} WHERE id = ANY($1)`, [
      [...ids],
    ]);
    const owner = new Map(rows.map((r) => [String(r['id']), String(r['account_id'])]));
    for (const id of ids) {
      const account = owner.get(id);
      if (account === undefined) throw new StrataError('NOT_FOUND', { kind: type, id });
      ensureVisible(actor, type, id, account);
    }
    return owner;
  }

  async create(
    actor: Actor,
    input: { resourceType: TagResourceType; resourceIds: readonly string[]; tags: readonly KeyValue[] },
  ): Promise<Tag[]> {
    const type = tagResourceType(input.resourceType);
    if (input.tags.length === 0 || input.tags.length > MAX_TAGS)
      throw new StrataError('INVALID_ARGUMENT', { field: 'tags', reason: `must hold 1 to ${MAX_TAGS} tags` });
    const tags = input.tags.map((t) => ({
      key: validateName('tags.key', t.key, 128),
      value: validateName('tags.value', t.value, 255),
    }));
    const owners = await this.owners(actor, type, input.resourceIds);
    return this.db.transaction(async (tx) => {
      const out: Tag[] = [];
      for (const [id, account] of owners)
        for (const t of tags) {
          const rows = await tx.query(
            `INSERT INTO resource_tags (resource_type, resource_id, key, value, account_id) VALUES ($1,$2,$3,$4,$5)
             ON CONFLICT (resource_type, resource_id, key) DO UPDATE SET value = EXCLUDED.value RETURNING *`,
            [type, id, t.key, t.value, account],
          );
          if (rows[0]) out.push(toTag(rows[0]));
        }
      return out;
    });
  }

  /** Removes the given keys (a value given must match), or every tag of the resources when no tags are given. */
  async remove(
    actor: Actor,
    input: {
      resourceType: TagResourceType;
      resourceIds: readonly string[];
      tags?: readonly { key: string; value?: string }[];
    },
  ): Promise<number> {
    const type = tagResourceType(input.resourceType);
    const owners = await this.owners(actor, type, input.resourceIds);
    const ids = [...owners.keys()];
    if (!input.tags || input.tags.length === 0) {
      const rows = await this.db.query(
        'DELETE FROM resource_tags WHERE resource_type = $1 AND resource_id = ANY($2) RETURNING key',
        [type, ids],
      );
      return rows.length;
    }
    let n = 0;
    for (const t of input.tags) {
      const where = new Where()
        .eq('resource_type', type)
        .add('resource_id = ANY(?)', ids)
        .eq('key', validateName('tags.key', t.key, 128));
      if (t.value !== undefined && t.value !== '') where.eq('value', t.value);
      n += (await this.db.query(`DELETE FROM resource_tags ${where.sql()} RETURNING key`, where.params))
        .length;
    }
    return n;
  }

  async list(
    actor: Actor,
    f: { resourceType?: TagResourceType; resourceId?: string; key?: string; value?: string } = {},
  ): Promise<Tag[]> {
    const where = new Where()
      .scope(actor, 'account_id')
      .eq('resource_type', f.resourceType)
      .eq('resource_id', f.resourceId)
      .eq('key', f.key)
      .eq('value', f.value);
    const rows = await this.db.query(
      `SELECT * FROM resource_tags ${where.sql()} ORDER BY resource_type, resource_id, key LIMIT 5000`,
      where.params,
    );
    return rows.map(toTag);
  }

  /** Each resource's tags, for answers that carry them. */
  async of(type: TagResourceType, ids: readonly string[]): Promise<ReadonlyMap<string, KeyValue[]>> {
    const out = new Map<string, KeyValue[]>();
    if (ids.length === 0) return out;
    const rows = await this.db.query(
      'SELECT resource_id, key, value FROM resource_tags WHERE resource_type = $1 AND resource_id = ANY($2) ORDER BY key',
      [type, [...ids]],
    );
    for (const r of rows) {
      const id = String(r['resource_id']);
      out.set(id, [...(out.get(id) ?? []), { key: String(r['key']), value: String(r['value']) }]);
    }
    return out;
  }

  /** The ids of the actor's resources of a type carrying every one of the given tags. */
  async matching(actor: Actor, type: TagResourceType, tags: readonly KeyValue[]): Promise<string[]> {
    const where = new Where().eq('resource_type', type);
    if (!isAdmin(actor)) where.eq('account_id', actor.accountId);
    const any = tags.map((t) => `(key = ${where.param(t.key)} AND value = ${where.param(t.value)})`);
    where.add(`(${any.join(' OR ')})`);
    const rows = await this.db.query(
      `SELECT resource_id FROM resource_tags ${where.sql()} GROUP BY resource_id
        HAVING COUNT(*) = ${where.param(tags.length)} ORDER BY resource_id LIMIT 5000`,
      where.params,
    );
    return rows.map((r) => String(r['resource_id']));
  }
}
