import { isStrataError, jobMachine, StrataError, toStrataError, type JobState } from '@strata/core';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.js';
import { faultBoundary } from './fault.js';
import { recordJobFailure, type FailureEnd } from './failure-event.js';
import { fenced, heartbeat, releaseLease, type Lease } from './fence.js';
import { ProgressWriter, stepContext, type ContextParts } from './step-context.js';
import { cancelRequested, jsonParam, journal, JOB_COLUMNS, toJob, type Row } from './store.js';
import type { Job, JobDefinition, JobError, JobStep, Json, PriorOutputs, TxStepContext } from './types.js';

export interface RunEnv {
  readonly db: Database;
  readonly serverId: string;
  readonly leaseMs: number;
  readonly log: Logger;
  /** Aborted when the engine stops. */
  readonly stopping: AbortSignal;
  readonly finished: (job: Job) => void;
}

type Phase = 'run' | 'compensate';
const COMPENSATION_ATTEMPTS = 3;

/** Ends the run quietly: the lease was lost or the engine is stopping; the journal lets another run resume. */
class Interrupted extends Error {}

/** Wraps what a step itself threw, to tell it from a failure of the engine's own journal writes. */
class StepFailed extends Error {
  constructor(readonly failure: unknown) {
    super('step failed');
  }
}

async function ownError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new StepFailed(e);
  }
}

function toJobError(e: unknown): JobError {
  const err = toStrataError(e);
  return { code: err.code, message: err.message, details: JSON.parse(JSON.stringify(err.params)) as Json };
}

/** Outputs must survive the journal: undefined becomes null, anything not JSON is refused. */
function asJson(value: unknown, step: string): Json {
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as Json;
  } catch (e) {
    throw new StrataError('INTERNAL', {
      reason: `step ${step} returned a value that is not JSON: ${String(e)}`,
    });
  }
}

const UPSERT_STEP = `INSERT INTO job_steps (job_id, phase, idx, name, status, output, error, epoch, started_at, finished_at)
  VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8, now(), CASE WHEN $5 = 'started' THEN NULL ELSE now() END)
  ON CONFLICT (job_id, phase, idx) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output, error = EXCLUDED.error,
    epoch = EXCLUDED.epoch, finished_at = EXCLUDED.finished_at,
    started_at = CASE WHEN EXCLUDED.status = 'started' THEN now() ELSE job_steps.started_at END`;

/** Runs one claimed job to an end (Succeeded or Failed) from whatever its journal says is done. */
export class JobRun {
  private readonly lease: Lease;
  private readonly abort = new AbortController();
  private readonly parts: ContextParts;
  private readonly progress: ProgressWriter;
  private readonly log: Logger;
  private lost = false;
  /** Journal records that may be written late (a read-only step's done): they go with the next write. */
  private carried: unknown[][] = [];
  /** The `after` fault points of the carried records' steps: they fire once those records commit. */
  private carriedAfter: Array<() => Promise<void>> = [];
  /** The job as the last step's transaction ended it, when that step was transactional. */
  private endedAs: Job | undefined;

  constructor(
    private readonly env: RunEnv,
    private readonly def: JobDefinition,
    private readonly job: Job,
  ) {
    this.lease = { jobId: job.id, owner: env.serverId, epoch: job.epoch, leaseMs: env.leaseMs };
    this.log = env.log.child({ jobId: job.id, jobType: job.type, epoch: job.epoch });
    this.progress = new ProgressWriter(env.db, job.id, this.log);
    this.parts = {
      jobId: job.id,
      jobType: job.type,
      accountId: job.accountId,
      epoch: job.epoch,
      signal: this.abort.signal,
      log: this.log,
      progress: this.progress,
    };
  }

  async run(): Promise<void> {
    const onStop = () =>
      this.abort.abort(new StrataError('JOB_ENGINE_STOPPED', { serverId: this.env.serverId }));
    this.env.stopping.addEventListener('abort', onStop, { once: true });
    if (this.env.stopping.aborted) onStop();
    const beat = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.env.leaseMs / 3)));
    try {
      if (this.job.state === 'Compensating') await this.compensateAll();
      else await this.runSteps();
    } catch (e) {
      if (e instanceof Interrupted || isStrataError(e, 'JOB_LEASE_LOST') || this.abort.signal.aborted) {
        this.log.info({ lost: this.lost }, 'job run interrupted; its journal lets a later run resume it');
        if (!this.lost) await releaseLease(this.env.db, this.lease).catch(() => undefined);
      } else {
        this.log.error({ err: e }, 'job run failed in the engine');
      }
    } finally {
      clearInterval(beat);
      this.env.stopping.removeEventListener('abort', onStop);
    }
  }

  private async beat(): Promise<void> {
    if (this.lost) return;
    try {
      if (!(await heartbeat(this.env.db, this.lease))) {
        this.lost = true;
        this.abort.abort(
          new StrataError('JOB_LEASE_LOST', {
            jobId: this.job.id,
            owner: this.lease.owner,
            epoch: this.lease.epoch,
          }),
        );
      }
    } catch (e) {
      this.log.warn({ err: e }, 'lease renewal failed; retrying');
    }
  }

  /**
   * A fenced journal transaction (fence.ts) that first writes the records carried over. Carried
   * records are ones whose loss harms nothing (a crash before this write re-runs a read-only step),
   * so a failed transaction simply drops them.
   */
  private journalTx<T>(fn: (tx: Queryable, state: JobState) => Promise<T>): Promise<T> {
    const carried = this.carried;
    const after = this.carriedAfter;
    this.carried = [];
    this.carriedAfter = [];
    return fenced(this.env.db, this.lease, async (tx, state) => {
      for (const params of carried) await tx.query(UPSERT_STEP, params);
      return fn(tx, state);
    }).then(async (out) => {
      for (const point of after) await point();
      return out;
    });
  }

  private checkAbort(): void {
    if (this.abort.signal.aborted) throw new Interrupted();
  }

  private async runSteps(): Promise<void> {
    const records = await journal(this.env.db, this.job.id);
    const prior: Record<string, Json | undefined> = {};
    let last: Json = null;
    for (const [index, step] of this.def.steps.entries()) {
      this.checkAbort();
      const rec = records.find((r) => r.phase === 'run' && r.index === index);
      if (rec?.status === 'done') {
        prior[step.name] = rec.output ?? null;
        last = rec.output ?? null;
        continue;
      }
      // Past a forward-only step nothing before it is undone: no cancel, no undo on interruption.
      const forward = this.forwardFrom(index);
      // A step boundary: a cancel asked meanwhile undoes what ran, newest first.
      const cancelled =
        this.def.cancellableWhileRunning !== false &&
        !forward &&
        (await cancelRequested(this.env.db, this.job.id).catch(() => {
          throw new Interrupted(); // database away: resumed from the journal later
        }));
      if (cancelled) {
        this.log.info({ step: step.name }, 'job cancelled by its owner; compensating');
        await this.toCompensating(toJobError(new StrataError('JOB_CANCELLED', { jobId: this.job.id })));
        return this.compensateAll();
      }
      if (
        rec?.status === 'started' &&
        rec.epoch < this.lease.epoch &&
        this.def.onInterrupted === 'compensate' &&
        !forward
      ) {
        const error = toJobError(new StrataError('JOB_INTERRUPTED', { jobId: this.job.id, step: step.name }));
        await this.toCompensating(error);
        return this.compensateAll();
      }
      try {
        last = await this.runWithRetry(step, index, prior);
        prior[step.name] = last;
      } catch (e) {
        if (e instanceof Interrupted || isStrataError(e, 'JOB_LEASE_LOST') || this.abort.signal.aborted)
          throw e;
        return this.failStep(step, index, e);
      }
    }
    let done = this.endedAs;
    if (!done) {
      await this.progress.flush();
      done = await this.journalTx(async (tx, state) =>
        this.finish(tx, jobMachine.next(state, 'Succeed'), { result: last }),
      );
    }
    this.env.finished(done);
  }

  /** Runs a step again while it fails with a retryable StrataError, as its `retry` policy allows. */
  private async runWithRetry(step: JobStep<Json>, index: number, prior: PriorOutputs): Promise<Json> {
    const attempts = Math.max(1, step.retry?.attempts ?? 1);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.execute(step, index, 'run', prior, undefined);
      } catch (e) {
        const err = isStrataError(e) ? e : undefined;
        if (
          !err?.retryable ||
          err.code === 'JOB_LEASE_LOST' ||
          attempt >= attempts ||
          this.abort.signal.aborted
        )
          throw e;
        const delay = (step.retry?.delayMs ?? 200) * 2 ** (attempt - 1);
        this.log.info({ step: step.name, attempt, delay, code: err.code }, 'retrying step');
        await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  /** Runs a step (or its compensation) with its journal record: in one transaction if transactional. */
  private async execute(
    step: JobStep<Json>,
    index: number,
    phase: Phase,
    prior: PriorOutputs,
    output: Json | undefined,
  ): Promise<Json> {
    const ctx = stepContext(this.parts, step.name, phase);
    const input = this.job.input;
    const params = (status: 'started' | 'done' | 'failed', out: Json | null) => [
      this.job.id,
      phase,
      index,
      step.name,
      status,
      jsonParam(out),
      jsonParam(null),
      this.lease.epoch,
    ];
    const record = (tx: Queryable, status: 'started' | 'done' | 'failed', out: Json | null) =>
      tx.query(UPSERT_STEP, params(status, out));
    const readOnly = step.transactional !== true && step.readOnly === true && phase === 'run';
    // The last step of a run, when transactional, ends the job in its own transaction.
    const ends = step.transactional === true && phase === 'run' && index === this.def.steps.length - 1;
    const call = (tx?: Queryable): Promise<Json> =>
      ownError(async () => {
        let out: unknown = null;
        if (step.transactional === true) {
          const txCtx: TxStepContext = { ...ctx, tx: tx as Queryable };
          if (phase === 'run') out = await step.run(txCtx, input, prior);
          else await step.compensate?.(txCtx, input, output, prior);
        } else if (phase === 'run') out = await step.run(ctx, input, prior);
        else await step.compensate?.(ctx, input, output, prior);
        return asJson(out, step.name);
      });
    try {
      let out: Json;
      if (step.transactional === true) {
        if (phase === 'run') await ownError(() => faultBoundary(this.job.type, step.name, 'before'));
        if (ends) await this.progress.flush();
        out = await this.journalTx(async (tx, state) => {
          const result = await call(tx);
          await record(tx, 'done', result);
          if (ends) this.endedAs = await this.finish(tx, jobMachine.next(state, 'Succeed'), { result });
          return result;
        });
      } else {
        if (!readOnly) await this.journalTx((tx) => record(tx, 'started', null));
        if (phase === 'run') await ownError(() => faultBoundary(this.job.type, step.name, 'before'));
        out = await call();
        this.checkAbort();
        if (readOnly) {
          this.carried.push(params('done', out));
          // its `after` is once its record is in the journal, as for every other step
          this.carriedAfter.push(() => faultBoundary(this.job.type, step.name, 'after'));
          return out;
        }
        await this.journalTx((tx) => record(tx, 'done', out));
      }
      if (phase === 'run') await faultBoundary(this.job.type, step.name, 'after');
      return out;
    } catch (e) {
      if (e instanceof StepFailed) throw e.failure;
      if (e instanceof Interrupted || isStrataError(e, 'JOB_LEASE_LOST')) throw e;
      // the journal could not be written (database down?): stop here; the lease lapses and the
      // job resumes from its journal, rather than failing a step that may well have worked
      this.log.warn(
        { err: e, step: step.name, phase },
        'journal write failed; leaving the job to be resumed',
      );
      throw new Interrupted();
    }
  }

  /** A step threw: journal it, then compensate what was done (or fail at once if nothing can be undone). */
  private async failStep(step: JobStep<Json>, index: number, e: unknown): Promise<void> {
    const error = toJobError(e);
    this.log.warn({ err: e, step: step.name }, 'job step failed');
    const undoable =
      !this.forwardFrom(index) && this.def.steps.slice(0, index + 1).some((s) => s.compensate !== undefined);
    await this.journalTx(async (tx, state) => {
      await tx.query(UPSERT_STEP, [
        this.job.id,
        'run',
        index,
        step.name,
        'failed',
        null,
        jsonParam(error),
        this.lease.epoch,
      ]);
      if (undoable) await this.setState(tx, jobMachine.next(state, 'Compensate'), error);
    });
    if (undoable) return this.compensateAll();
    await this.progress.flush();
    const done = await this.journalTx((tx, state) =>
      this.finish(tx, jobMachine.next(state, 'Fail'), { error, failure: 'nothing to undo' }),
    );
    this.env.finished(done);
  }

  /** Whether the step at `index` or one before it is forward-only: then nothing is undone. */
  private forwardFrom(index: number): boolean {
    return this.def.steps.slice(0, index + 1).some((s) => s.forwardOnly === true);
  }

  private async toCompensating(error: JobError): Promise<void> {
    await this.journalTx((tx, state) => this.setState(tx, jobMachine.next(state, 'Compensate'), error));
  }

  /** Undoes, newest first, every step that started (completed or not) and is not yet undone. */
  private async compensateAll(): Promise<void> {
    const records = await journal(this.env.db, this.job.id);
    const ran = (i: number) => records.find((r) => r.phase === 'run' && r.index === i);
    const prior: Record<string, Json | undefined> = {};
    for (const [i, s] of this.def.steps.entries()) {
      const r = ran(i);
      if (r?.status === 'done') prior[s.name] = r.output ?? null;
    }
    let failure: JobError | undefined;
    for (let i = this.def.steps.length - 1; i >= 0; i--) {
      const step = this.def.steps[i] as JobStep<Json>;
      const r = ran(i);
      if (!r || !step.compensate) continue;
      // a transactional step that did not complete rolled back as a whole: nothing to undo
      if (step.transactional === true && r.status !== 'done') continue;
      if (records.some((c) => c.phase === 'compensate' && c.index === i && c.status === 'done')) continue;
      const output = r.status === 'done' ? (r.output ?? null) : undefined;
      failure = (await this.compensateOne(step, i, prior, output)) ?? failure;
    }
    await this.progress.flush();
    const done = await this.journalTx(async (tx, state) => {
      const next = jobMachine.next(state, 'Compensated');
      return this.finish(
        tx,
        next,
        failure ? { error: failure, failure: 'undo failed' } : { failure: 'undone' },
      );
    });
    this.env.finished(done);
  }

  /** Retries a compensation a few times; answers the error when it could not be done. */
  private async compensateOne(
    step: JobStep<Json>,
    i: number,
    prior: PriorOutputs,
    output: Json | undefined,
  ): Promise<JobError | undefined> {
    for (let attempt = 1; ; attempt++) {
      this.checkAbort();
      try {
        await this.execute(step, i, 'compensate', prior, output);
        return undefined;
      } catch (e) {
        if (e instanceof Interrupted || isStrataError(e, 'JOB_LEASE_LOST') || this.abort.signal.aborted)
          throw e;
        this.log.warn({ err: e, step: step.name, attempt }, 'compensation failed');
        if (attempt < COMPENSATION_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        const reason = toStrataError(e).message;
        const error = toJobError(
          new StrataError('JOB_COMPENSATION_FAILED', { jobId: this.job.id, step: step.name, reason }),
        );
        await this.journalTx((tx) =>
          tx.query(UPSERT_STEP, [
            this.job.id,
            'compensate',
            i,
            step.name,
            'failed',
            null,
            jsonParam(error),
            this.lease.epoch,
          ]),
        );
        return error;
      }
    }
  }

  private async setState(tx: Queryable, state: JobState, error: JobError): Promise<void> {
    await tx.query(`UPDATE jobs SET state = $2, error = $3::text::jsonb, updated_at = now() WHERE id = $1`, [
      this.job.id,
      state,
      jsonParam(error),
    ]);
  }

  /** The final write: state, result or error, lease and per-key lock released, in one transaction. */
  private async finish(
    tx: Queryable,
    state: JobState,
    end: { result?: Json; error?: JobError; failure?: FailureEnd },
  ): Promise<Job> {
    const rows = await tx.query<Row>(
      `UPDATE jobs SET state = $2, result = $3::text::jsonb, error = coalesce($4::text::jsonb, error),
         progress_pct = CASE WHEN $2 = 'Succeeded' THEN 100 ELSE progress_pct END,
         owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [this.job.id, state, jsonParam(end.result ?? null), jsonParam(end.error ?? null)],
    );
    await tx.query('DELETE FROM job_locks WHERE job_id = $1', [this.job.id]);
    const job = toJob(rows[0] as Row);
    await recordJobFailure(tx, job, end.failure ?? 'nothing to undo');
    return job;
  }
}
