import { agentCrashSeries } from './crash-agents.js';
import { volumeProblems } from './crash-cases.js';
import { invariantProblems, waitJobEnd } from './crash-checks.js';
import type { CrashEnv } from './crash-env.js';
import { boundaries, describeOutcome, failuresOf, progress, type CrashPoint } from './crash-run.js';
import type { JobView } from './rest.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** volume.migrate's steps, in order (transactional ones marked), for the agents' boundaries. */
const STEPS = [
  { name: 'begin', transactional: true },
  { name: 'plan', transactional: true },
  { name: 'create-destination', transactional: false },
  { name: 'copy', transactional: false },
  { name: 'record', transactional: true },
  { name: 'release-source', transactional: false },
];

/** Whether the job's `step` was seen running (its run started, not finished) before the job ended. */
async function whileStepRuns(cx: CrashEnv, jobId: string, step: string): Promise<boolean> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const steps = await cx.env.rest
      .get<Array<{ name: string; phase: string; finishedAt: string | null }>>(`/v1/jobs/${jobId}/steps`)
      .catch(() => []);
    if (steps.some((s) => s.name === step && s.phase === 'run' && s.finishedAt === null)) return true;
    const job = await cx.env.rest.get<JobView>(`/v1/jobs/${jobId}`);
    if (job.state === 'Succeeded' || job.state === 'Failed') return false;
    await sleep(30);
  }
  return false;
}

/**
 * A running guest's disk moving, every agent (the VM's host's among them) SIGKILLed while the
 * `copy` step runs (the block copy under way or pivoting), started again 2 s later: the job must
 * end done or undone, with the disk on exactly one backend, the one the database names, attached
 * and running, and no volume or grant left over. Then the agents killed at step boundaries, the
 * server holding the job there: `copy:after` in CI (pivoted, not recorded), every boundary with
 * STRATA_CRASH_SWEEP=all. Answers the failures seen.
 */
export async function agentsKilledMidCopy(
  t: { diagnostic(message: string): void },
  cx: CrashEnv,
  vmId: string,
  move: () => Promise<{ job: JobView }>,
  poolIds: readonly string[],
): Promise<string[]> {
  const failures: string[] = [];
  let seen = false;
  for (let attempt = 1; attempt <= 3 && !seen; attempt++) {
    const accepted = await move();
    seen = await whileStepRuns(cx, accepted.job.id, 'copy');
    if (!seen) {
      await waitJobEnd(cx.env.rest, accepted.job.id);
      t.diagnostic(`attempt ${attempt}: the move's copy ended before it was seen running; again`);
      continue;
    }
    cx.killAgent();
    await sleep(2_000);
    await cx.startAgent();
    const job = await waitJobEnd(cx.env.rest, accepted.job.id);
    progress(t, `agents killed mid-copy: the move ended ${job.state} ${job.error?.code ?? ''}`);
    if (job.error?.code === 'JOB_COMPENSATION_FAILED') failures.push('a move killed mid-copy was not undone');
    for (const p of await invariantProblems(cx, vmId)) failures.push(`agents killed mid-copy: ${p}`);
    for (const p of await volumeProblems(cx, poolIds)) failures.push(`agents killed mid-copy: ${p}`);
  }
  if (!seen) failures.push('no move was seen copying in three');
  const all = boundaries(STEPS);
  const points: CrashPoint[] =
    process.env['STRATA_CRASH_SWEEP'] === 'all' ? all : all.filter(([s, b]) => s === 'copy' && b === 'after');
  const outcomes = await agentCrashSeries(cx, vmId, 'volume.migrate', points, move, (o) =>
    progress(t, describeOutcome(o)),
  );
  failures.push(...failuresOf(outcomes));
  for (const p of await volumeProblems(cx, poolIds)) failures.push(`after the agents' kills: ${p}`);
  return failures;
}
