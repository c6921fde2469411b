import { StrataError, type JobState } from '@strata/core';
import type { Database, Queryable } from '../db/database.js';

/** What a server holds while it runs a job: fencing compares both with the job row. */
export interface Lease {
  readonly jobId: string;
  readonly owner: string;
  readonly epoch: number;
  readonly leaseMs: number;
}

/**
 * Runs `fn` in one transaction that first locks the job row and checks this server still holds the
 * lease (same owner and epoch). A server whose lease was taken over gets JOB_LEASE_LOST and its
 * transaction (journal record and any step effects in it) rolls back: that is the fence.
 * Every fenced write also renews the lease.
 */
export async function fenced<T>(
  db: Database,
  lease: Lease,
  fn: (tx: Queryable, state: JobState) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    // One statement locks the row, renews the lease and reads who holds it; when that is not this
    // server the throw rolls the renewal back with everything else.
    const rows = await tx.query<{ owner: string | null; epoch: number; state: JobState }>(
      `UPDATE jobs SET lease_expires_at = now() + ($2::int * interval '1 millisecond')
       WHERE id = $1 RETURNING owner, epoch, state`,
      [lease.jobId, lease.leaseMs],
    );
    const row = rows[0];
    if (!row || row.owner !== lease.owner || Number(row.epoch) !== lease.epoch) {
      throw new StrataError('JOB_LEASE_LOST', { jobId: lease.jobId, owner: lease.owner, epoch: lease.epoch });
    }
    return fn(tx, row.state);
  });
}

/** Renews the lease outside any step; false when this server no longer holds it. */
export async function heartbeat(db: Database, lease: Lease): Promise<boolean> {
  const rows = await db.query(
    `UPDATE jobs SET lease_expires_at = now() + ($4::int * interval '1 millisecond')
     WHERE id = $1 AND owner = $2 AND epoch = $3 RETURNING id`,
    [lease.jobId, lease.owner, lease.epoch, lease.leaseMs],
  );
  return rows.length === 1;
}

/** Gives the lease back at once (graceful stop) so another server takes the job over without waiting. */
export async function releaseLease(db: Database, lease: Lease): Promise<void> {
  await db.query(
    `UPDATE jobs SET lease_expires_at = now() - interval '1 second'
     WHERE id = $1 AND owner = $2 AND epoch = $3 AND state IN ('Running','Compensating')`,
    [lease.jobId, lease.owner, lease.epoch],
  );
}
