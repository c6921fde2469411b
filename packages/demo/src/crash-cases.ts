import type { CrashEnv } from './crash-env.js';
import {
  boundaries,
  crashSeries,
  describeOutcome,
  failuresOf,
  progress,
  stepNames,
  type CrashPoint,
} from './crash-run.js';
import type { JobView, Page } from './rest.js';
import type { VolumeView } from './story.js';
import { volumeExists } from './crash-checks.js';

/** States a volume may rest in once its job ended; any other is a job left half-way. */
const SETTLED = new Set(['Allocated', 'Ready', 'Error', 'Destroyed']);

/**
 * Every volume of the crash run's pools, after a job ended: none left in a transitional state,
 * every Ready one on its backend. (What a Failed create or a delete left on a backend, the
 * collector's orphan scan in invariantProblems finds.)
 */
export async function volumeProblems(cx: CrashEnv, poolIds: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const poolId of poolIds) {
    const volumes = (
      await cx.env.rest.get<Page<VolumeView & { state: string }>>('/v1/volumes', { poolId, limit: 500 })
    ).items;
    for (const v of volumes) {
      if (!SETTLED.has(v.state)) problems.push(`volume ${v.id} is left ${v.state}`);
      else if (v.state === 'Ready' && !(await volumeExists(cx, v)))
        problems.push(`volume ${v.id} is Ready but ${v.backendRef} is not on its backend`);
    }
  }
  return problems;
}

/**
 * One boundary per job type in CI (the k-th, k from STRATA_CRASH_SEED or the day number, so that
 * successive days visit the others); every one with STRATA_CRASH_SWEEP=all.
 */
export function onePoint(
  all: readonly CrashPoint[],
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): CrashPoint[] {
  if (env['STRATA_CRASH_SWEEP'] === 'all' || all.length <= 1) return [...all];
  const raw = env['STRATA_CRASH_SEED'];
  const seed = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : Math.floor(now / 86_400_000);
  return [all[seed % all.length]!];
}

/** A job type and how to start one job of it from a settled state. */
export type JobCase = readonly [type: string, start: () => Promise<{ job: JobView }>];

/**
 * For each case: one unarmed run (its steps, read from the journal, must succeed), then the
 * server killed at the chosen boundaries of the type (onePoint), each followed by the invariants
 * of the VM and the volumes of `poolIds`. Answers every failure seen, by case.
 */
export async function crashEachJobType(
  t: { diagnostic(message: string): void },
  cx: CrashEnv,
  vmId: string,
  cases: readonly JobCase[],
  poolIds: readonly string[],
): Promise<string[]> {
  const failures: string[] = [];
  // STRATA_CRASH_ONLY=<type,...>: only those job types (a look at one by hand; CI runs them all)
  const only = process.env['STRATA_CRASH_ONLY']?.split(',');
  for (const [type, start] of cases.filter(([type]) => !only || only.includes(type))) {
    const probe = await start();
    const ended = await cx.env.rest.waitJob(probe.job);
    if (ended.state !== 'Succeeded') {
      failures.push(`${type} fails unarmed: ${ended.error?.code} ${ended.error?.message}`);
      continue;
    }
    const points = onePoint(boundaries(await stepNames(cx, probe.job.id)));
    t.diagnostic(`${type}: ${points.map((p) => p.join(':')).join(', ')}`);
    const outcomes = await crashSeries(cx, vmId, type, points, start, (o) => progress(t, describeOutcome(o)));
    failures.push(...failuresOf(outcomes));
    for (const p of await volumeProblems(cx, poolIds)) failures.push(`after ${type}: ${p}`);
  }
  return failures;
}
