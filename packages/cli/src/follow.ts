import { SingleBar } from 'cli-progress';
import { ApiClient, CliError } from './client.js';

/** The fields of a job the CLI reads (GET /v1/jobs/:id). */
export interface JobRow {
  readonly id: string;
  readonly type: string;
  readonly state: 'Queued' | 'Running' | 'Compensating' | 'Succeeded' | 'Failed';
  readonly progressPct: number;
  readonly progressMessage: string;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface FollowOptions {
  /** Draw the progress bar (on stderr). */
  readonly progress: boolean;
  readonly timeoutMs: number;
}

const finished = (j: JobRow) => j.state === 'Succeeded' || j.state === 'Failed';

/**
 * Waits for a job, drawing a live bar from its progress (percent and message) on stderr. The
 * server holds each poll open up to a second (`?wait=1`) so the bar moves without busy polling.
 * A failed job becomes a CliError carrying the job's own error code.
 */
export async function followJob(client: ApiClient, job: JobRow, opts: FollowOptions): Promise<JobRow> {
  const bar = opts.progress
    ? new SingleBar({
        stream: process.stderr,
        format: `${job.type} [{bar}] {percentage}% {state} {message}`,
        hideCursor: true,
        clearOnComplete: false,
        noTTYOutput: true,
        notTTYSchedule: 1000,
      })
    : null;
  bar?.start(100, job.progressPct, { state: job.state, message: job.progressMessage });
  const deadline = Date.now() + opts.timeoutMs;
  let current = job;
  try {
    while (!finished(current)) {
      if (Date.now() > deadline)
        throw new CliError(
          'TIMEOUT',
          `job ${job.id} is still ${current.state} after ${opts.timeoutMs / 1000} s (strata jobs wait ${job.id})`,
        );
      current = await client.get<JobRow>(`/v1/jobs/${encodeURIComponent(job.id)}`, { wait: 1 });
      bar?.update(Math.round(current.progressPct), {
        state: current.state,
        message: current.progressMessage,
      });
    }
  } finally {
    if (bar) {
      if (current.state === 'Succeeded')
        bar.update(100, { state: current.state, message: current.progressMessage });
      bar.stop();
    }
  }
  if (current.state === 'Failed') {
    throw new CliError(
      current.error?.code ?? 'JOB_FAILED',
      `job ${current.id} (${current.type}) failed: ${current.error?.message ?? 'no reason recorded'}`,
    );
  }
  return current;
}
