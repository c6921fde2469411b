import { recordJobFailure } from './failure-event.js';
import { jobMachine, StrataError, type JobState } from '@strata/core';
import type { Database, Queryable } from '../db/database.js';
import type {
  Job,
  JobError,
  JobFilter,
  JobProgressEvent,
  JobStepRecord,
  Json,
  Page,
  PageRequest,
} from './types.js';

/** SQL of the journal tables (migration 002-jobs); the only place that knows their columns. */

export const JOB_COLUMNS = `id, seq, type, account_id, state, input, result, error, lock_key, resource_type, resource_id,
  owner, epoch, progress_pct, progress_message, created_at, started_at, finished_at, updated_at, cancel_requested_at`;

export type Row = Record<string, unknown>;

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(v as string).toISOString();
const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v);

/** JSON parameters go in as text and are cast in SQL: both drivers then pass them verbatim. */
export const jsonParam = (v: Json | JobError | null | undefined): string | null =>
  v === undefined || v === null ? null : JSON.stringify(v);

export function toJob(row: Row): Job {
  return {
    id: String(row['id']),
    type: String(row['type']),
    accountId: String(row['account_id']),
    state: row['state'] as JobState,
    input: (row['input'] ?? null) as Json,
    result: (row['result'] ?? null) as Json,
    error: (row['error'] ?? null) as JobError | null,
    lockKey: str(row['lock_key']),
    resourceType: str(row['resource_type']),
    resourceId: str(row['resource_id']),
    progressPct: Number(row['progress_pct'] ?? 0),
    progressMessage: typeof row['progress_message'] === 'string' ? row['progress_message'] : '',
    owner: str(row['owner']),
    epoch: Number(row['epoch'] ?? 0),
    createdAt: iso(row['created_at']) ?? '',
    startedAt: iso(row['started_at']),
    finishedAt: iso(row['finished_at']),
    updatedAt: iso(row['updated_at']) ?? '',
    cancelRequestedAt: iso(row['cancel_requested_at']),
  };
}

export function toStepRecord(row: Row): JobStepRecord {
  return {
    jobId: String(row['job_id']),
    index: Number(row['idx']),
    name: String(row['name']),
    phase: row['phase'] as JobStepRecord['phase'],
    status: row['status'] as JobStepRecord['status'],
    output: (row['output'] ?? null) as Json,
    error: (row['error'] ?? null) as JobError | null,
    epoch: Number(row['epoch']),
    startedAt: iso(row['started_at']) ?? '',
    finishedAt: iso(row['finished_at']),
  };
}

export interface NewJob {
  readonly id: string;
  readonly type: string;
  readonly accountId: string;
  readonly input: Json;
  readonly lockKey: string | null;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
}

export async function insertJob(q: Queryable, job: NewJob): Promise<Job> {
  const rows = await q.query<Row>(
    `INSERT INTO jobs (id, type, account_id, state, input, lock_key, resource_type, resource_id)
     VALUES ($1, $2, $3, 'Queued', $4::text::jsonb, $5, $6, $7) RETURNING ${JOB_COLUMNS}`,
    [job.id, job.type, job.accountId, jsonParam(job.input), job.lockKey, job.resourceType, job.resourceId],
  );
  return toJob(rows[0] as Row);
}

export async function findJob(q: Queryable, id: string): Promise<Job | undefined> {
  const rows = await q.query<Row>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

export async function getJob(q: Queryable, id: string): Promise<Job> {
  const job = await findJob(q, id);
  if (!job) throw new StrataError('NOT_FOUND', { kind: 'job', id });
  return job;
}

const MAX_PAGE = 500;

export async function listJobs(
  q: Queryable,
  filter: JobFilter = {},
  page: PageRequest = {},
): Promise<Page<Job>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  add('account_id', filter.accountId);
  add('state', filter.state);
  add('type', filter.type);
  add('resource_type', filter.resourceType);
  add('resource_id', filter.resourceId);
  if (page.cursor !== undefined) {
    // at most 18 digits: a longer number overflows bigint in SQL
    if (!/^\d{1,18}$/.test(page.cursor))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'cursor',
        reason: 'not a cursor from a previous page',
      });
    params.push(page.cursor);
    where.push(`seq < $${params.length}::bigint`);
  }
  const limit = Math.min(Math.max(Math.trunc(page.limit ?? 50), 1), MAX_PAGE);
  params.push(limit + 1);
  const rows = await q.query<Row>(
    `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY seq DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(toJob), nextCursor: more && last ? String(last['seq']) : null };
}

export async function journal(q: Queryable, jobId: string): Promise<JobStepRecord[]> {
  const rows = await q.query<Row>(
    `SELECT job_id, phase, idx, name, status, output, error, epoch, started_at, finished_at
     FROM job_steps WHERE job_id = $1
     ORDER BY CASE phase WHEN 'run' THEN 0 ELSE 1 END, CASE phase WHEN 'run' THEN idx ELSE -idx END`,
    [jobId],
  );
  return rows.map(toStepRecord);
}

export async function progressEvents(q: Queryable, jobId: string, afterSeq = 0): Promise<JobProgressEvent[]> {
  const rows = await q.query<Row>(
    `SELECT seq, job_id, pct, message, at FROM job_progress WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT 1000`,
    [jobId, afterSeq],
  );
  return rows.map((r) => ({
    seq: Number(r['seq']),
    jobId: String(r['job_id']),
    pct: Number(r['pct']),
    message: String(r['message']),
    at: iso(r['at']) ?? '',
  }));
}

/** How a cancel goes for one job: its type's undo for a queued job, and whether a running one may stop. */
export interface CancelRules {
  /** The job type's onCancelled, run in the cancel's transaction when the job is still queued. */
  readonly undo?: (tx: Queryable, job: Job) => Promise<void>;
  /** False when the job's type must run to its end once started (ILLEGAL_TRANSITION). */
  readonly runningMayStop?: (job: Job) => boolean;
}

/**
 * Cancel, checked by jobMachine under the row lock. A queued job ends at once (Queued → Failed
 * with JOB_CANCELLED, `undo` in the same transaction). A running one is only marked: its runner
 * sees the mark at its next step boundary and compensates what it did (runner.ts).
 */
export async function cancelJob(db: Database, id: string, rules: CancelRules = {}): Promise<Job> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<Row>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`, [id]);
    const row = rows[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'job', id });
    const current = toJob(row);
    const next = jobMachine.next(current.state, 'Cancel');
    if (current.state === 'Running') {
      if (rules.runningMayStop && !rules.runningMayStop(current))
        throw new StrataError('ILLEGAL_TRANSITION', {
          machine: 'job',
          state: current.state,
          event: 'Cancel',
        });
      const marked = await tx.query<Row>(
        `UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
         WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
        [id],
      );
      return toJob(marked[0] as Row);
    }
    const error = new StrataError('JOB_CANCELLED', { jobId: id }).toJSON();
    const updated = await tx.query<Row>(
      `UPDATE jobs SET state = $2, error = $3::text::jsonb, finished_at = now(), updated_at = now(),
         cancel_requested_at = now()
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [id, next, JSON.stringify({ code: error.code, message: error.message, details: error.details })],
    );
    const job = toJob(updated[0] as Row);
    await rules.undo?.(tx, job);
    await recordJobFailure(tx, job, 'cancelled before it ran');
    return job;
  });
}

/** Whether the job's owner asked to cancel it (read by its runner at each step boundary). */
export async function cancelRequested(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query('SELECT cancel_requested_at FROM jobs WHERE id = $1', [id]);
  const at = rows[0]?.['cancel_requested_at'];
  return at !== null && at !== undefined;
}

export async function countByState(q: Queryable): Promise<Record<JobState, number>> {
  const counts: Record<JobState, number> = {
    Queued: 0,
    Running: 0,
    Compensating: 0,
    Succeeded: 0,
    Failed: 0,
  };
  const rows = await q.query<{ state: JobState; n: unknown }>(
    'SELECT state, count(*) AS n FROM jobs GROUP BY state',
  );
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}
