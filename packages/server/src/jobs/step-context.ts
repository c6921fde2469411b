import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { StepContext } from './types.js';

/**
 * Progress reports of one job, written in the background in order: a step never waits on them (a
 * transactional step on PGlite could not: its transaction holds the only connection).
 */
export class ProgressWriter {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly jobId: string,
    private readonly log: Logger,
  ) {}

  report(pct: number, message = ''): void {
    const clamped = Math.min(100, Math.max(0, Number.isFinite(pct) ? pct : 0));
    this.chain = this.chain
      .then(async () => {
        await this.db.query('INSERT INTO job_progress (job_id, pct, message) VALUES ($1, $2, $3)', [
          this.jobId,
          clamped,
          message,
        ]);
        await this.db.query(
          `UPDATE jobs SET progress_pct = $2, progress_message = $3, updated_at = now() WHERE id = $1 AND state IN ('Running','Compensating')`,
          [this.jobId, clamped, message],
        );
      })
      .catch((e: unknown) => this.log.warn({ err: e }, 'progress report not stored'));
  }

  /** Waits for the reports queued so far (before the job's final write). */
  flush(): Promise<void> {
    return this.chain;
  }
}

export interface ContextParts {
  readonly jobId: string;
  readonly jobType: string;
  readonly accountId: string;
  readonly epoch: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly progress: ProgressWriter;
}

export function stepContext(parts: ContextParts, step: string, phase: 'run' | 'compensate'): StepContext {
  return {
    jobId: parts.jobId,
    jobType: parts.jobType,
    accountId: parts.accountId,
    step,
    epoch: parts.epoch,
    signal: parts.signal,
    log: parts.log.child({ step, phase }),
    progress: (pct, message) => parts.progress.report(pct, message),
  };
}
