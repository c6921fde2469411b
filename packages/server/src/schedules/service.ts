import { StrataError } from '@strata/core';
import type { Database } from '../db/index.js';
import { ensureVisible, type Actor } from '../services/actor.js';
import { newId } from '../services/ids.js';
import { iso } from '../services/sql.js';
import { nextSlot, parseInterval, parseSlot, parseTimeZone, type IntervalType } from './slots.js';

export type ScheduleKind = 'volume' | 'vm';

export interface SnapshotSchedule {
  readonly id: string;
  readonly accountId: string;
  /** What is snapshotted: one volume (volume snapshots) or one VM (VM snapshots). */
  readonly kind: ScheduleKind;
  readonly targetId: string;
  readonly intervalType: IntervalType;
  readonly schedule: string;
  readonly timezone: string;
  /** How many of this schedule's snapshots are kept; older ones are deleted. */
  readonly maxSnaps: number;
  readonly enabled: boolean;
  readonly nextRunAt: string;
  readonly lastRunAt: string | null;
  readonly lastError: string | null;
  readonly createdAt: string;
}

export interface ScheduleInput {
  readonly kind: ScheduleKind;
  readonly targetId: string;
  readonly intervalType: string;
  readonly schedule: string;
  readonly timezone?: string;
  readonly maxSnaps: number;
}

export interface ScheduleChange {
  readonly schedule?: string;
  readonly timezone?: string;
  readonly maxSnaps?: number;
  readonly enabled?: boolean;
}

const toSchedule = (r: Record<string, unknown>): SnapshotSchedule => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  kind: r['kind'] as ScheduleKind,
  targetId: String(r['target_id']),
  intervalType: r['interval_type'] as IntervalType,
  schedule: String(r['schedule']),
  timezone: String(r['timezone']),
  maxSnaps: Number(r['max_snaps']),
  enabled: Boolean(r['enabled']),
  nextRunAt: iso(r['next_run_at']),
  lastRunAt: r['last_run_at'] ? iso(r['last_run_at']) : null,
  lastError: (r['last_error'] as string | null) ?? null,
  createdAt: iso(r['created_at']),
});

function maxSnaps(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new StrataError('INVALID_ARGUMENT', { field: 'maxSnaps', reason: 'must be an integer 1-1000' });
  return n;
}

/**
 * Snapshot schedules (CloudStack's snapshot policies, and the same for VM snapshots). As in
 * CloudStack, a volume has at most one schedule per interval type: creating another replaces it.
 */
export class SnapshotScheduleService {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(actor: Actor, input: ScheduleInput): Promise<SnapshotSchedule> {
    const interval = parseInterval(input.intervalType);
    const slot = parseSlot(interval, input.schedule);
    const tz = parseTimeZone(input.timezone ?? 'UTC');
    const keep = maxSnaps(input.maxSnaps);
    const table = input.kind === 'volume' ? 'volumes' : input.kind === 'vm' ? 'vms' : null;
    if (!table) throw new StrataError('INVALID_ARGUMENT', { field: 'kind', reason: 'must be volume or vm' });
    const target = (
      await this.db.query(`SELECT account_id FROM ${table} WHERE id = $1`, [input.targetId])
    )[0];
    if (!target) throw new StrataError('NOT_FOUND', { kind: input.kind, id: input.targetId });
    ensureVisible(actor, input.kind, input.targetId, String(target['account_id']));
    const rows = await this.db.query(
      `INSERT INTO snapshot_schedules
         (id, account_id, kind, target_id, interval_type, schedule, timezone, max_snaps, next_run_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
       ON CONFLICT (kind, target_id, interval_type) DO UPDATE SET schedule = EXCLUDED.schedule,
         timezone = EXCLUDED.timezone, max_snaps = EXCLUDED.max_snaps, next_run_at = EXCLUDED.next_run_at,
         enabled = true
       RETURNING *`,
      [
        newId('ssched'),
        String(target['account_id']),
        input.kind,
        input.targetId,
        interval,
        input.schedule,
        tz,
        keep,
        nextSlot(slot, tz, this.now()),
      ],
    );
    return toSchedule(rows[0] ?? {});
  }

  async get(actor: Actor, id: string): Promise<SnapshotSchedule> {
    const row = (await this.db.query('SELECT * FROM snapshot_schedules WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'snapshot schedule', id });
    ensureVisible(actor, 'snapshot schedule', id, String(row['account_id']));
    return toSchedule(row);
  }

  async list(
    actor: Actor,
    f: { id?: string; kind?: ScheduleKind; targetId?: string } = {},
  ): Promise<SnapshotSchedule[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (actor.role !== 'admin') add('account_id = ?', actor.accountId);
    if (f.id) add('id = ?', f.id);
    if (f.kind) add('kind = ?', f.kind);
    if (f.targetId) add('target_id = ?', f.targetId);
    const rows = await this.db.query(
      `SELECT * FROM snapshot_schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at, id LIMIT 500`,
      args,
    );
    return rows.map(toSchedule);
  }

  /** Changes a schedule; a new slot or zone moves the next run to the new slot after now. */
  async update(actor: Actor, id: string, change: ScheduleChange): Promise<SnapshotSchedule> {
    const s = await this.get(actor, id);
    const tz = change.timezone !== undefined ? parseTimeZone(change.timezone) : s.timezone;
    const schedule = change.schedule ?? s.schedule;
    const next = nextSlot(parseSlot(s.intervalType, schedule), tz, this.now());
    const rows = await this.db.query(
      `UPDATE snapshot_schedules SET schedule = $2, timezone = $3, max_snaps = $4, enabled = $5,
         next_run_at = $6 WHERE id = $1 RETURNING *`,
      [
        id,
        schedule,
        tz,
        change.maxSnaps !== undefined ? maxSnaps(change.maxSnaps) : s.maxSnaps,
        change.enabled ?? s.enabled,
        next,
      ],
    );
    if (!rows[0]) throw new StrataError('NOT_FOUND', { kind: 'snapshot schedule', id });
    return toSchedule(rows[0]);
  }

  /** Deletes schedules; the snapshots they made stay (they are ordinary snapshots). */
  async delete(actor: Actor, ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.get(actor, id);
    await this.db.query('DELETE FROM snapshot_schedules WHERE id = ANY($1)', [ids]);
  }
}
