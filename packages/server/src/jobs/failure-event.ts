import type { Queryable } from '../db/index.js';
import type { Job } from './types.js';

/** How a failed job ended, for its event: undone, its undo failed, nothing to undo, or cancelled. */
export type FailureEnd = 'undone' | 'undo failed' | 'nothing to undo' | 'cancelled before it ran';

/**
 * A failed job is an event on the resource it worked on (the job itself when it names none), in
 * the transaction that ends it: `job.Failed`, its type, how it ended and its coded error. Operators
 * read failures where they read every other change (GET /v1/events, CloudStack listEvents).
 */
export async function recordJobFailure(q: Queryable, job: Job, end: FailureEnd): Promise<void> {
  if (job.state !== 'Failed') return;
  const why = job.error ? `${job.error.code}: ${job.error.message}` : 'no error recorded';
  await q.query(
    `INSERT INTO events (account_id, type, resource_type, resource_id, job_id, description)
     VALUES ($1, 'job.Failed', $2, $3, $4, $5)`,
    [
      job.accountId,
      job.resourceType ?? 'job',
      job.resourceId ?? job.id,
      job.id,
      `${job.type} failed (${end}): ${why}`,
    ],
  );
}
