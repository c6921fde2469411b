import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { invariantProblems, waitJobEnd } from './crash-checks.js';
import type { CrashEnv } from './crash-env.js';
import type { CrashOutcome, CrashPoint } from './crash-run.js';
import type { JobView } from './rest.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the job is held at the armed boundary (true) or ends without reaching it (false). */
async function heldOrEnded(cx: CrashEnv, jobId: string): Promise<boolean> {
  const end = Date.now() + 300_000;
  while (Date.now() < end) {
    if (existsSync(`${cx.holdFile}.held`)) return true;
    const job = await cx.env.rest.get<JobView>(`/v1/jobs/${jobId}`).catch(() => null);
    if (job && (job.state === 'Succeeded' || job.state === 'Failed')) {
      // The `after` of a job's last transactional step comes once the job has ended (its end
      // commits with that step): the hold may still announce itself.
      for (let i = 0; i < 30; i++, await sleep(100)) if (existsSync(`${cx.holdFile}.held`)) return true;
      return false;
    }
    await sleep(100);
  }
  return false;
}

/**
 * One case per point with the server alive: the job is held at the point (the server's hold hook),
 * every agent (the storage node's and both KVM hosts') is SIGKILLed there, the job is let go while
 * they are down, and they start again a second later, as their service manager would restart them.
 * The job must then end done or undone, and the invariants hold. `killed` says the point was reached.
 */
export async function agentCrashSeries(
  cx: CrashEnv,
  vmId: string,
  jobType: string,
  points: readonly CrashPoint[],
  start: () => Promise<{ job: JobView }>,
  report: (o: CrashOutcome) => void,
): Promise<CrashOutcome[]> {
  const outcomes: CrashOutcome[] = [];
  for (const [step, boundary] of points) {
    const point = `${jobType}:${step}:${boundary}`;
    await rm(`${cx.holdFile}.held`, { force: true });
    await writeFile(cx.holdFile, `${point}\n`);
    const t0 = Date.now();
    const started = await start();
    const reached = await heldOrEnded(cx, started.job.id);
    const t1 = Date.now();
    if (reached) cx.killAgent();
    await rm(cx.holdFile, { force: true });
    if (reached) {
      await sleep(1_000);
      await cx.startAgent();
    }
    const t2 = Date.now();
    const job = await waitJobEnd(cx.env.rest, started.job.id);
    const t3 = Date.now();
    const problems = await invariantProblems(cx, vmId);
    const t4 = Date.now();
    const o: CrashOutcome = {
      point: `agents at ${point}`,
      killed: reached,
      job,
      problems,
      ms: t4 - t0,
      phasesMs: { run: t1 - t0, restart: t2 - t1, finish: t3 - t2, check: t4 - t3 },
    };
    report(o);
    outcomes.push(o);
  }
  await rm(`${cx.holdFile}.held`, { force: true });
  return outcomes;
}
