import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrashPoint } from './crash-run.js';
import { crashSample, SAMPLE_SIZE } from './crash-sample.js';

const points = (n: number): CrashPoint[] =>
  Array.from({ length: n }, (_, i): CrashPoint => [`step${Math.floor(i / 2)}`, i % 2 ? 'after' : 'before']);

test('a sampled run visits the last boundary and one other, SAMPLE_SIZE in all', () => {
  const all = points(17);
  for (let seed = 0; seed < 10; seed++) {
    const s = crashSample(all, { STRATA_CRASH_SEED: String(seed) });
    assert.deepEqual(s.mode, { seed });
    assert.equal(s.of, 17);
    assert.equal(s.points.length, SAMPLE_SIZE);
    assert.deepEqual(s.points[0], all[seed]);
    assert.deepEqual(s.points.at(-1), all.at(-1));
  }
});

test('successive seeds visit every boundary', () => {
  for (const n of [7, 12, 17, 30]) {
    const all = points(n);
    const seen = new Set<string>();
    for (let seed = 0; seed < n; seed++)
      for (const p of crashSample(all, { STRATA_CRASH_SEED: String(seed) }).points) seen.add(p.join(':'));
    assert.equal(seen.size, n, `${n} points`);
  }
});

test('STRATA_CRASH_SWEEP=all, or a job with few boundaries, visits every one', () => {
  const all = points(17);
  assert.deepEqual(crashSample(all, { STRATA_CRASH_SWEEP: 'all' }).points, all);
  assert.equal(crashSample(all, { STRATA_CRASH_SWEEP: 'all' }).mode, 'all');
  assert.deepEqual(crashSample(points(SAMPLE_SIZE), {}).points, points(SAMPLE_SIZE));
});

test('without a seed, the day number chooses: another day, other points', () => {
  const all = points(17);
  const day = 86_400_000;
  const a = crashSample(all, {}, 100 * day).points.map((p) => p.join(':'));
  const b = crashSample(all, {}, 101 * day).points.map((p) => p.join(':'));
  assert.notDeepEqual(a, b);
});
