import { StrataError, type StateMachine } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { EventService } from './events.js';

export interface TransitionInput<S extends string, E extends string> {
  readonly table: string;
  /** The resource kind in errors and events (volume, vm, ...). */
  readonly kind: string;
  readonly machine: StateMachine<S, E>;
  readonly id: string;
  readonly event: E;
  /** Extra columns to set with the new state, e.g. { backend_ref: 'x' }. Names are code, not input. */
  readonly set?: Readonly<Record<string, unknown>>;
  readonly jobId?: string | null;
}

/**
 * Moves one row through its state machine: reads the state, asks the machine (ILLEGAL_TRANSITION
 * when the table has no such edge), and writes with `WHERE state = <read state>` so a concurrent
 * change is never overwritten (CONFLICT, retryable). Writes an event in the same statement batch.
 */
export async function applyTransition<S extends string, E extends string>(
  db: Queryable,
  events: EventService,
  t: TransitionInput<S, E>,
): Promise<{ from: S; to: S; row: Record<string, unknown> }> {
  const rows = await db.query(
    `SELECT state, ${accountColumn(t.table)} AS owner FROM ${t.table} WHERE id = $1`,
    [t.id],
  );
  const current = rows[0];
  if (!current) throw new StrataError('NOT_FOUND', { kind: t.kind, id: t.id });
  const from = current['state'] as S;
  const to = t.machine.next(from, t.event);
  const sets = Object.entries(t.set ?? {});
  const assignments = ['state = $3', ...sets.map(([col], i) => `${col} = $${i + 4}`)].join(', ');
  const updated = await db.query(
    `UPDATE ${t.table} SET ${assignments} WHERE id = $1 AND state = $2 RETURNING *`,
    [t.id, from, to, ...sets.map(([, v]) => v)],
  );
  const row = updated[0];
  if (!row)
    throw new StrataError('CONFLICT', {
      reason: `${t.kind} ${t.id} changed state while ${t.event} was applied`,
    });
  await events.record(
    {
      accountId: (current['owner'] as string | null) ?? null,
      type: `${t.kind}.${t.event}`,
      resourceType: t.kind,
      resourceId: t.id,
      jobId: t.jobId ?? null,
      description: `${from} -> ${to}`,
    },
    db,
  );
  return { from, to, row };
}

/** Tables without an owning account (infrastructure) answer NULL. */
function accountColumn(table: string): string {
  return ['vms', 'volumes', 'volume_snapshots', 'vm_snapshots'].includes(table) ? 'account_id' : 'NULL::text';
}
