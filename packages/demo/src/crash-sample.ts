import type { CrashPoint } from './crash-run.js';

/**
 * Points per job in a sampled run: the last boundary (the job's final commit) and one of the others.
 * Each costs a server restart and a job's end (45–75 s on a busy 2-core machine), and the crash
 * tests run one after another (CI's longest chain): a third point per job cost CI about five minutes.
 */
export const SAMPLE_SIZE = 2;

export interface CrashSample {
  readonly points: readonly CrashPoint[];
  /** 'all' (every boundary: the hand-run sweep, bench/crash-sweep) or the seed of the sample. */
  readonly mode: 'all' | { readonly seed: number };
  /** How many boundaries the job has in all. */
  readonly of: number;
}

/** Today's day number: the default seed, so that CI runs on successive days visit other points. */
const dayNumber = (now: number) => Math.floor(now / 86_400_000);

/**
 * Which crash points a run visits. `STRATA_CRASH_SWEEP=all` visits every one. Otherwise (CI's
 * representative run) the last boundary (the job's final commit) and the k-th of the others, k the
 * seed `STRATA_CRASH_SEED` (default: the day number) modulo their count, so that successive seeds
 * visit every point.
 */
export function crashSample(
  all: readonly CrashPoint[],
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): CrashSample {
  if (env['STRATA_CRASH_SWEEP'] === 'all' || all.length <= SAMPLE_SIZE)
    return { points: all, mode: 'all', of: all.length };
  const raw = env['STRATA_CRASH_SEED'];
  const seed = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : dayNumber(now);
  const others = all.slice(0, -1);
  return { points: [others[seed % others.length]!, all.at(-1)!], mode: { seed }, of: all.length };
}

/** One line for the test's diagnostics: what was visited and how to visit the rest. */
export function describeSample(s: CrashSample): string {
  if (s.mode === 'all') return `crash points: all ${s.of}`;
  return (
    `crash points: ${s.points.length} of ${s.of} (seed ${s.mode.seed}; STRATA_CRASH_SEED=N for others, ` +
    `STRATA_CRASH_SWEEP=all or bench/crash-sweep for every one)`
  );
}
