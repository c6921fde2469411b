import { invariantProblems, waitJobEnd } from './crash-checks.js';
import type { CrashEnv } from './crash-env.js';
import type { JobView, Page } from './rest.js';

export type Boundary = 'before' | 'after';
export type CrashPoint = readonly [step: string, boundary: Boundary];

/**
 * What one crash case saw: where the server (or the agents) died, how the job ended, which
 * invariants broke.
 */
export interface CrashOutcome {
  readonly point: string;
  readonly killed: boolean;
  readonly job: JobView;
  readonly problems: readonly string[];
  readonly ms: number;
  /** Where the case's time went: up to the death, the restart, the job's end, the invariant checks. */
  readonly phasesMs: {
    readonly run: number;
    readonly restart: number;
    readonly finish: number;
    readonly check: number;
  };
}

export interface JournaledStep {
  readonly name: string;
  /** Its effects and its record commit in one transaction (journaled done at once). */
  readonly transactional: boolean;
}

/** The steps of a finished job, in order, from its journal (so new steps are crashed at too). */
export async function stepNames(cx: CrashEnv, jobId: string): Promise<JournaledStep[]> {
  const steps = await cx.env.rest.get<
    Array<{ name: string; phase: string; startedAt: string; finishedAt: string | null }>
  >(`/v1/jobs/${jobId}/steps`);
  // A transactional or read-only step writes its record once, done: started and finished in one
  // instant. Either way nothing is written before it runs.
  return steps
    .filter((s) => s.phase === 'run')
    .map((s) => ({ name: s.name, transactional: s.startedAt === s.finishedAt }));
}

/**
 * Every boundary of every step: before (nothing of it ran) and after (its done record committed).
 * Before a transactional (or read-only) step that follows another is the same point as after that
 * one (nothing is written in between), so it is crashed at once, as the other's after.
 */
export const boundaries = (steps: readonly JournaledStep[]): CrashPoint[] =>
  steps.flatMap((s, i): CrashPoint[] => [
    ...(s.transactional && i > 0 ? [] : [[s.name, 'before'] as const]),
    [s.name, 'after'],
  ]);

const label = (jobType: string, [step, boundary]: CrashPoint) => `${jobType}:${step}:${boundary}`;

/**
 * Runs one crash case per point, last point first. Each case starts the operation on a server
 * armed with that point (STRATA_FAULT_KILL_AT), sees it die, and starts the server again armed with
 * the next case's point: that server finishes the interrupted job (which only runs steps after
 * its own point, so later than the next point: it never trips it), then the invariants are read.
 * One restart per case. The agent is restarted with the server so it reconnects at once rather
 * than after its reconnect backoff.
 */
export async function crashSeries(
  cx: CrashEnv,
  vmId: string,
  jobType: string,
  points: readonly CrashPoint[],
  start: (point: CrashPoint) => Promise<{ job: JobView }>,
  report: (o: CrashOutcome) => void,
): Promise<CrashOutcome[]> {
  const order = [...points].reverse();
  const outcomes: CrashOutcome[] = [];
  await restart(cx, order[0] && label(jobType, order[0]));
  for (const [i, point] of order.entries()) {
    const t0 = Date.now();
    const started = await start(point).catch(() => null);
    const exit = await deathOrEnd(cx, started?.job.id);
    const t1 = Date.now();
    const next = order[i + 1];
    await restart(cx, next && label(jobType, next));
    const t2 = Date.now();
    const jobId =
      started?.job.id ??
      (await cx.env.rest.get<Page<JobView>>('/v1/jobs', { type: jobType, limit: 1 })).items[0]?.id;
    if (!jobId) throw new Error(`${label(jobType, point)}: no ${jobType} job was queued`);
    const job = await waitJobEnd(cx.env.rest, jobId);
    const t3 = Date.now();
    const problems = await invariantProblems(cx, vmId);
    const t4 = Date.now();
    const o = {
      point: label(jobType, point),
      killed: exit === 'SIGKILL',
      job,
      problems,
      ms: t4 - t0,
      phasesMs: { run: t1 - t0, restart: t2 - t1, finish: t3 - t2, check: t4 - t3 },
    };
    report(o);
    outcomes.push(o);
  }
  return outcomes;
}

/** Waits for the armed server to die; gives up (null) when the job ends without reaching the point. */
async function deathOrEnd(cx: CrashEnv, jobId: string | undefined): Promise<NodeJS.Signals | number | null> {
  const end = Date.now() + 180_000;
  while (Date.now() < end) {
    const exit = await cx.serverExited(1_000).catch(() => undefined);
    if (exit !== undefined) return exit;
    if (!jobId) continue;
    const job = await cx.env.rest.get<JobView>(`/v1/jobs/${jobId}`).catch(() => null);
    if (job && (job.state === 'Succeeded' || job.state === 'Failed')) return null;
  }
  return null;
}

async function restart(cx: CrashEnv, faultAt: string | undefined): Promise<void> {
  await cx.restartServer(faultAt);
  cx.killAgent();
  const since = Date.now();
  await cx.startAgent();
  // The next case starts once the new agents are connected (an interrupted job resumes
  // meanwhile): a new job's first steps find a pool's agent among Up hosts only. The hosts still
  // read Up from before the restart until the server finds them silent, so only a host seen since
  // the agents started counts.
  await waitAgentsBack(cx, since, 180_000);
}

async function waitAgentsBack(cx: CrashEnv, since: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hosts = await cx.env.rest
      .get<Page<{ state: string; lastSeenAt: string | null }>>('/v1/hosts')
      .catch(() => null);
    const back = (h: { state: string; lastSeenAt: string | null }) =>
      (h.state === 'Up' || h.state === 'Maintenance') &&
      h.lastSeenAt !== null &&
      Date.parse(h.lastSeenAt) >= since;
    if (hosts && hosts.items.length > 0 && hosts.items.every(back)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The problems of a series: a point the server did not die at, a broken invariant, a job that did
 * not end cleanly. A job may fail (an interrupted create is undone; an agent away past the grace
 * fails the step): it must not leave its compensation undone.
 */
export function failuresOf(outcomes: readonly CrashOutcome[]): string[] {
  return outcomes.flatMap((o) => [
    ...(o.killed
      ? []
      : [
          `${o.point}: nothing was killed there (the job ended ${o.job.state}${o.job.error ? ` ${o.job.error.code}: ${o.job.error.message}` : ''})`,
        ]),
    ...o.problems.map((p) => `${o.point}: ${p}`),
    ...(o.job.error?.code === 'JOB_COMPENSATION_FAILED'
      ? [`${o.point}: the job's compensation failed: ${o.job.error.message}`]
      : []),
  ]);
}

/** One line per case for the test's diagnostics. */
export function describeOutcome(o: CrashOutcome): string {
  const end = o.job.state === 'Succeeded' ? 'Succeeded' : `Failed ${o.job.error?.code ?? ''}`;
  const p = o.phasesMs;
  return `${o.point}: killed=${o.killed} job ${end} in ${o.ms} ms (run ${p.run}, restart ${p.restart}, finish ${p.finish}, check ${p.check}); problems: ${o.problems.length ? o.problems.join('; ') : 'none'}`;
}

/** A test diagnostic that is also written at once (diagnostics show only when the test ends). */
export function progress(t: { diagnostic(message: string): void }, line: string): void {
  t.diagnostic(line);
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}
