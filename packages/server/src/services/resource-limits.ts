import { StrataError } from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import { ensureVisible, requireAdmin, type Actor } from './actor.js';
import { num } from './sql.js';

/**
 * What an account's limits count. Usage is read from the records themselves (never a counter
 * that could drift): what still exists or can come back counts; removed things do not.
 */
export const RESOURCE_KINDS = [
  'vm',
  'volume',
  'volume-snapshot',
  'vm-snapshot',
  'primary-storage-bytes',
  'min-iops',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

const LIVE_VOLUMES = `FROM volumes WHERE account_id = $1 AND state <> 'Destroyed'`;
const USAGE_SQL: Record<ResourceKind, string> = {
  vm: `SELECT count(*) AS n FROM vms WHERE account_id = $1 AND state NOT IN ('Destroyed','Expunging','Expunged')`,
  volume: `SELECT count(*) AS n ${LIVE_VOLUMES}`,
  // The disks of a VM snapshot are its parts, counted as the VM snapshot.
  'volume-snapshot': `SELECT count(*) AS n FROM volume_snapshots WHERE account_id = $1 AND state <> 'Deleted' AND vm_snapshot_id IS NULL`,
  'vm-snapshot': `SELECT count(*) AS n FROM vm_snapshots WHERE account_id = $1 AND state <> 'Removed'`,
  'primary-storage-bytes': `SELECT coalesce(sum(size_bytes), 0) AS n ${LIVE_VOLUMES}`,
  'min-iops': `SELECT coalesce(sum(min_iops), 0) AS n ${LIVE_VOLUMES}`,
};

/** One limit of one account; `max` -1 is unlimited (CloudStack's convention). */
export interface ResourceLimit {
  readonly accountId: string;
  readonly kind: ResourceKind;
  readonly max: number;
  readonly used: number;
}

export type LimitRequest = Partial<Record<ResourceKind, number>>;

export function parseResourceKind(field: string, value: unknown): ResourceKind {
  if (typeof value === 'string' && (RESOURCE_KINDS as readonly string[]).includes(value))
    return value as ResourceKind;
  throw new StrataError('INVALID_ARGUMENT', { field, reason: `must be one of ${RESOURCE_KINDS.join(', ')}` });
}

async function usage(q: Queryable, accountId: string, kind: ResourceKind): Promise<number> {
  return num((await q.query(USAGE_SQL[kind], [accountId]))[0]?.['n'] ?? 0);
}

/**
 * Refuses the work with RESOURCE_LIMIT_EXCEEDED when it would take the account past a limit.
 * Runs inside the transaction that records the work: the limit rows are locked (in one order,
 * so two admissions cannot deadlock) before usage is counted, and usage is counted again after
 * the lock is granted (read committed), so a concurrent admission that just committed is seen.
 */
export async function admitWithinLimits(
  q: Queryable,
  accountId: string,
  request: LimitRequest,
): Promise<void> {
  const kinds = RESOURCE_KINDS.filter((k) => (request[k] ?? 0) > 0);
  if (kinds.length === 0) return;
  const rows = await q.query(
    'SELECT kind, max FROM resource_limits WHERE account_id = $1 AND kind = ANY($2) ORDER BY kind FOR UPDATE',
    [accountId, kinds],
  );
  for (const r of rows) {
    const kind = r['kind'] as ResourceKind;
    const max = num(r['max']);
    const requested = request[kind] ?? 0;
    const used = await usage(q, accountId, kind);
    if (used + requested > max)
      throw new StrataError('RESOURCE_LIMIT_EXCEEDED', {
        account: accountId,
        type: kind,
        limit: max,
        used,
        requested,
      });
  }
}

/** Reading and setting limits: operators set them, an account reads its own. */
export class ResourceLimitService {
  constructor(private readonly db: Database) {}

  async list(actor: Actor, accountId: string, kind?: ResourceKind): Promise<ResourceLimit[]> {
    await this.account(actor, accountId);
    const rows = await this.db.query('SELECT kind, max FROM resource_limits WHERE account_id = $1', [
      accountId,
    ]);
    const max = new Map(rows.map((r) => [String(r['kind']), num(r['max'])]));
    const kinds = kind ? [kind] : RESOURCE_KINDS;
    const out: ResourceLimit[] = [];
    for (const k of kinds)
      out.push({ accountId, kind: k, max: max.get(k) ?? -1, used: await usage(this.db, accountId, k) });
    return out;
  }

  /** Sets one limit; -1 removes it. A limit below current usage is allowed (nothing new fits). */
  async set(actor: Actor, accountId: string, kind: ResourceKind, max: number): Promise<ResourceLimit> {
    requireAdmin(actor, 'set resource limits');
    await this.account(actor, accountId);
    if (!Number.isSafeInteger(max) || max < -1)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'max',
        reason: 'must be a whole number, -1 for unlimited',
      });
    if (max === -1)
      await this.db.query('DELETE FROM resource_limits WHERE account_id = $1 AND kind = $2', [
        accountId,
        kind,
      ]);
    else
      await this.db.query(
        `INSERT INTO resource_limits (account_id, kind, max) VALUES ($1,$2,$3)
         ON CONFLICT (account_id, kind) DO UPDATE SET max = EXCLUDED.max, updated_at = now()`,
        [accountId, kind, max],
      );
    return { accountId, kind, max, used: await usage(this.db, accountId, kind) };
  }

  private async account(actor: Actor, accountId: string): Promise<void> {
    const row = (await this.db.query('SELECT id FROM accounts WHERE id = $1', [accountId]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'account', id: accountId });
    ensureVisible(actor, 'account', accountId, accountId);
  }
}
