import type { CrashPoint } from './crash-run.js';

/**
 * At most this many points per job in a sampled run: the first, the last and one between. Each
 * costs a server restart and a job's end (45–75 s on a busy 2-core machine), and three crash
 * tests run one after another.
 */
export const SAMPLE_SIZE = 3;

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
 * representative run) the first and the last boundary (the job's start, its final commit) and every
 * k-th point between them, shifted by the seed `STRATA_CRASH_SEED` (default: the day number), so
 * that k successive seeds visit every point; at most SAMPLE_SIZE in all.
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
  const middle = all.slice(1, -1);
  const stride = Math.ceil(middle.length / (SAMPLE_SIZE - 2));
  const picked = middle.filter((_, i) => (i + seed) % stride === 0);
  return { points: [all[0]!, ...picked, all.at(-1)!], mode: { seed }, of: all.length };
}

/** One line for the test's diagnostics: what was visited and how to visit the rest. */
export function describeSample(s: CrashSample): string {
  if (s.mode === 'all') return `crash points: all ${s.of}`;
  return (
    `crash points: ${s.points.length} of ${s.of} (seed ${s.mode.seed}; STRATA_CRASH_SEED=N for others, ` +
    `STRATA_CRASH_SWEEP=all or bench/crash-sweep for every one)`
  );
}
