import type { JobState } from '@strata/core';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.js';

/**
 * A JSON value: what a job's input, a step's output and a job's result must be (they are journaled).
 * Object members may be undefined (dropped when stored, as JSON.stringify does). Declare step
 * outputs as type aliases, not interfaces: interfaces carry no index signature.
 */
export type Json =
  null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

/** Outputs of the steps that already completed, by step name (journaled, so they survive a crash). */
export type PriorOutputs = Readonly<Record<string, Json | undefined>>;

/** What every step (and every compensation) receives. */
export interface StepContext {
  readonly jobId: string;
  readonly jobType: string;
  readonly accountId: string;
  /** The step being run (or compensated). */
  readonly step: string;
  /** Lease epoch of this run: grows each time a server (re)claims the job. */
  readonly epoch: number;
  /** Aborted when the engine stops or this server loses the job's lease: stop work promptly. */
  readonly signal: AbortSignal;
  /** Logger carrying `jobId`, `jobType` and `step`. */
  readonly log: Logger;
  /**
   * Reports progress (0..100) with a short message. Stored as an event (for CLI progress bars) and
   * on the job row. Never blocks the step: writes are queued in the background.
   */
  progress(pct: number, message?: string): void;
}

/** Context of a transactional step: `tx` is the transaction that also writes the journal record. */
export interface TxStepContext extends StepContext {
  readonly tx: Queryable;
}

interface StepBase {
  /** Unique within the job definition; the key of this step's output in `prior`. */
  readonly name: string;
  /**
   * Runs the step again when it throws a retryable StrataError (TIMEOUT, UNAVAILABLE, ...): up to
   * `attempts` runs in all, waiting `delayMs` (default 200) doubled after each. Default: one run.
   */
  readonly retry?: { readonly attempts: number; readonly delayMs?: number };
  /**
   * Once this step starts, the steps before it are final (it only finishes what they made, such
   * as a VM snapshot's commit-back after the snapshot is Ready): from here on an interruption runs
   * the step again whatever the type's `onInterrupted` says, a cancel is no longer heard, and a
   * failure ends the job Failed with nothing undone. Applies to every later step too.
   */
  readonly forwardOnly?: boolean;
}

/**
 * A step whose effects are all in the database. It runs inside the transaction that writes its
 * journal record and checks the lease (fencing): its effects and its record commit together, so it
 * happens exactly once. It must use only `ctx.tx` (never the engine's database directly).
 */
export interface TxStep<I> extends StepBase {
  readonly transactional: true;
  run(ctx: TxStepContext, input: I, prior: PriorOutputs): Promise<Json>;
  /** Undoes the step, in one transaction with its journal record. `output` is undefined when the step did not complete. */
  compensate?(ctx: TxStepContext, input: I, output: Json | undefined, prior: PriorOutputs): Promise<void>;
}

/**
 * A step with effects outside the database (agent commands, storage backends). It is journaled as
 * started before it runs and done after; a crash in between re-runs it, so it MUST be idempotent on
 * ids it derives from `ctx.jobId` / its input (for example, create-if-absent by name).
 */
export interface ExternalStep<I> extends StepBase {
  readonly transactional?: false;
  /**
   * The step only reads: it is not journaled as started (one journal write less), so a crash in it
   * leaves no trace and it simply runs again. Only for steps that change nothing anywhere.
   */
  readonly readOnly?: boolean;
  run(ctx: StepContext, input: I, prior: PriorOutputs): Promise<Json>;
  /** Undoes the step; idempotent too. `output` is undefined when the step did not complete (crash or failure mid-step). */
  compensate?(ctx: StepContext, input: I, output: Json | undefined, prior: PriorOutputs): Promise<void>;
}

export type JobStep<I> = TxStep<I> | ExternalStep<I>;

/** A kind of durable job: ordered named steps. Its result is the output of its last step. */
export interface JobDefinition<I extends Json = Json> {
  readonly type: string;
  readonly steps: readonly JobStep<I>[];
  /**
   * What a server does when it takes over a job whose step was in flight when its previous owner
   * died: `resume` re-runs that step (default), `compensate` undoes the completed steps (and the
   * interrupted one) in reverse order and fails the job with JOB_INTERRUPTED.
   */
  readonly onInterrupted?: 'resume' | 'compensate';
  /**
   * Runs in the transaction that cancels the job while it is still queued (no step has run):
   * undoes what submitting it did, such as a resource made in a pending state for it.
   */
  onCancelled?(tx: Queryable, input: I, jobId: string): Promise<void>;
  /** Checks the input at submit time; throw a StrataError (INVALID_ARGUMENT) to refuse it. */
  validate?(input: unknown): asserts input is I;
  /**
   * False for a type that must run to its end once started (a cancel of a running one answers
   * ILLEGAL_TRANSITION); by default a running job may be cancelled and compensates at its next step.
   */
  readonly cancellableWhileRunning?: boolean;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
  readonly details?: Json;
}

/** A job as callers see it. */
export interface Job {
  readonly id: string;
  readonly type: string;
  readonly accountId: string;
  readonly state: JobState;
  readonly input: Json;
  /** The last step's output once Succeeded. */
  readonly result: Json | null;
  /** Why it failed (also set while Compensating). */
  readonly error: JobError | null;
  readonly lockKey: string | null;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly progressPct: number;
  readonly progressMessage: string;
  /** Server holding the lease (null when Queued or finished). */
  readonly owner: string | null;
  readonly epoch: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /** When its owner asked to cancel it (a running job stops at its next step boundary). */
  readonly cancelRequestedAt: string | null;
}

/** One record of the journal. */
export interface JobStepRecord {
  readonly jobId: string;
  readonly index: number;
  readonly name: string;
  readonly phase: 'run' | 'compensate';
  readonly status: 'started' | 'done' | 'failed';
  readonly output: Json | null;
  readonly error: JobError | null;
  readonly epoch: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface JobProgressEvent {
  readonly seq: number;
  readonly jobId: string;
  readonly pct: number;
  readonly message: string;
  readonly at: string;
}

export interface SubmitOptions {
  readonly accountId: string;
  /** Jobs with the same key run one at a time, in submit order, across all servers (e.g. `vm:<id>`). */
  readonly lockKey?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  /** A caller-chosen id (default: a random UUID). */
  readonly id?: string;
  /** Insert the job inside the caller's transaction (so the job exists iff that transaction commits). */
  readonly tx?: Queryable;
}

export interface JobFilter {
  readonly accountId?: string;
  readonly state?: JobState;
  readonly type?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
}

/** Keyset pagination: newest first; pass the previous page's `nextCursor` as `cursor`. */
export interface PageRequest {
  readonly limit?: number;
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface JobEngineOptions {
  readonly db: Database;
  /** This server's id in leases (default: hostname + pid + random). Must differ between live servers. */
  readonly serverId?: string;
  readonly logger?: Logger;
  /** Jobs this server runs at once (default 4). */
  readonly concurrency?: number;
  /** Lease length (default 30 s); renewed every third of it. */
  readonly leaseMs?: number;
  /** How often an idle server looks for work (default 500 ms). */
  readonly pollMs?: number;
  /**
   * How often `wait` reads a job that this server did not finish (default 1 s): a finish or a
   * cancel here wakes a wait at once; this poll only notices jobs that run on another server.
   */
  readonly waitPollMs?: number;
}

/** Called when this server finishes a job (metrics, events). */
export type JobFinishedListener = (job: Job, durationSeconds: number) => void;

export interface JobEngine {
  readonly serverId: string;
  /** Adds a job type; rejects an empty or duplicate type or step name (JOB_DEFINITION_INVALID). */
  register<I extends Json>(def: JobDefinition<I>): void;
  /** Queues a job (state Queued). Unknown type: JOB_TYPE_UNKNOWN. */
  submit(type: string, input: Json, options: SubmitOptions): Promise<Job>;
  /** NOT_FOUND when there is no such job. */
  get(id: string): Promise<Job>;
  list(filter?: JobFilter, page?: PageRequest): Promise<Page<Job>>;
  /** The journal of a job, in order. */
  steps(id: string): Promise<readonly JobStepRecord[]>;
  /** Progress events after `afterSeq` (for CLI progress bars). */
  progressEvents(id: string, afterSeq?: number): Promise<readonly JobProgressEvent[]>;
  /**
   * Resolves with the job once it is Succeeded or Failed, or with its current row when
   * `timeoutMs` passes first (the caller checks `state`). Works for jobs run by any server.
   */
  wait(id: string, timeoutMs: number): Promise<Job>;
  /**
   * Cancels a job. A queued one ends at once (Failed with JOB_CANCELLED, its type's onCancelled in
   * the same transaction). A running one is marked (`cancelRequestedAt`): at its next step boundary
   * it compensates its completed steps and ends Failed with JOB_CANCELLED, on whichever server runs
   * it. A compensating or finished job, or a running one of a type that is not
   * cancellableWhileRunning, answers ILLEGAL_TRANSITION.
   */
  cancel(id: string): Promise<Job>;
  /** Starts claiming and running jobs (and taking over jobs whose lease expired). */
  start(): void;
  /**
   * Stops claiming, aborts running steps' signals, waits (up to `graceMs`, default 10 s) for them
   * to settle and hands their leases back; a step still running after that keeps its lease until
   * it lapses, and its late writes are fenced.
   */
  stop(graceMs?: number): Promise<void>;
  /** Number of jobs in each state, across all servers (metrics). */
  countByState(): Promise<Record<JobState, number>>;
  /** Calls `listener` whenever this server finishes a job; returns a function that unsubscribes. */
  onFinished(listener: JobFinishedListener): () => void;
}
