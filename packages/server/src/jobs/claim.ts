import { jobMachine } from '@strata/core';
import type { Database, Queryable } from '../db/database.js';
import { JOB_COLUMNS, toJob, type Row } from './store.js';
import type { Job } from './types.js';

export interface Claimed {
  readonly job: Job;
  /** True when the job was taken over from a server whose lease expired (resume from the journal). */
  readonly takeover: boolean;
}

const TAKE = (columns: string) => `UPDATE jobs SET state = $2, owner = $3, epoch = epoch + 1,
    lease_expires_at = now() + ($4::int * interval '1 millisecond'), started_at = coalesce(started_at, now()), updated_at = now()
  WHERE id = $1 RETURNING ${columns}`;

/** A Running or Compensating job whose owner's lease expired: that server is dead or cut off. */
async function takeOverExpired(
  tx: Queryable,
  serverId: string,
  types: readonly string[],
  leaseMs: number,
): Promise<Claimed | undefined> {
  const rows = await tx.query<{ id: string; state: 'Running' | 'Compensating' }>(
    `SELECT id, state FROM jobs WHERE state IN ('Running','Compensating') AND lease_expires_at < now()
       AND type = ANY($1::text[]) ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [types],
  );
  const row = rows[0];
  if (!row) return undefined;
  const next = jobMachine.next(row.state, 'LeaseLost');
  const taken = await tx.query<Row>(TAKE(JOB_COLUMNS), [row.id, next, serverId, leaseMs]);
  return { job: toJob(taken[0] as Row), takeover: true };
}

/**
 * The oldest Queued job this server can run whose lock key is free and which is the head of its
 * key's queue (jobs on one key run in submit order). SKIP LOCKED lets servers claim side by side;
 * the job_locks primary key makes the per-key lock exclusive across servers.
 */
async function claimQueued(
  tx: Queryable,
  serverId: string,
  types: readonly string[],
  leaseMs: number,
): Promise<Claimed | undefined> {
  const rows = await tx.query<{ id: string; lock_key: string | null }>(
    `SELECT j.id, j.lock_key FROM jobs j
      WHERE j.state = 'Queued' AND j.type = ANY($1::text[])
        AND (j.lock_key IS NULL OR (
          NOT EXISTS (SELECT 1 FROM job_locks l WHERE l.lock_key = j.lock_key)
          AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.lock_key = j.lock_key AND e.state = 'Queued' AND e.seq < j.seq)))
      ORDER BY j.seq LIMIT 1 FOR UPDATE OF j SKIP LOCKED`,
    [types],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.lock_key !== null) {
    const locked = await tx.query(
      'INSERT INTO job_locks (lock_key, job_id) VALUES ($1, $2) ON CONFLICT (lock_key) DO NOTHING RETURNING lock_key',
      [row.lock_key, row.id],
    );
    if (locked.length === 0) return undefined; // another server's job took the key a moment ago
  }
  const taken = await tx.query<Row>(TAKE(JOB_COLUMNS), [
    row.id,
    jobMachine.next('Queued', 'Claim'),
    serverId,
    leaseMs,
  ]);
  return { job: toJob(taken[0] as Row), takeover: false };
}

/** Claims one job for this server: an abandoned one first (recovery), else the next queued one. */
export async function claimNext(
  db: Database,
  serverId: string,
  types: readonly string[],
  leaseMs: number,
): Promise<Claimed | undefined> {
  if (types.length === 0) return undefined;
  return db.transaction(
    async (tx) =>
      (await takeOverExpired(tx, serverId, types, leaseMs)) ??
      (await claimQueued(tx, serverId, types, leaseMs)),
  );
}

/**
 * A server restarting under the same explicit id is the next life of one that died: the jobs its
 * previous life held are abandoned, so their leases end now rather than at their expiry.
 */
export async function expireOwnLeases(db: Database, serverId: string): Promise<number> {
  const rows = await db.query(
    `UPDATE jobs SET lease_expires_at = now() - interval '1 millisecond'
      WHERE owner = $1 AND state IN ('Running','Compensating') RETURNING id`,
    [serverId],
  );
  return rows.length;
}
