import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iopsColumns, iopsSummary } from './iops-series.js';

test('the IOPS answer becomes uPlot columns in seconds, with QoS lines and no line for an unset limit', () => {
  const a = {
    points: [
      { at: 10_000, iops: 5 },
      { at: 12_000, iops: 250.5 },
    ],
    qos: { minIops: 50, maxIops: 400, burstIops: 0 },
    windowMs: 300_000,
  };
  const { data, xMin, xMax } = iopsColumns(a);
  assert.deepEqual(data, [
    [10, 12],
    [5, 250.5],
    [50, 50],
    [400, 400],
    [null, null],
  ]);
  assert.equal(xMax, 12);
  assert.equal(xMin, 12 - 60, 'a young series spans a minute');
  const long = iopsColumns({
    ...a,
    points: [
      { at: 0, iops: 1 },
      { at: 200_000, iops: 2 },
      { at: 500_000, iops: 3 },
    ],
  });
  assert.deepEqual([long.xMin, long.xMax], [200, 500], 'no further back than the window');
  assert.deepEqual(iopsSummary(a), { now: 250.5, peak: 250.5 });
});

test('no points: empty columns, a window still drawn, no summary; no QoS: no lines', () => {
  const { data, xMax, xMin } = iopsColumns({ points: [], qos: null, windowMs: 0 });
  assert.deepEqual(data, [[], [], [], [], []]);
  assert.equal(xMax - xMin, 60);
  assert.deepEqual(iopsSummary({ points: [], windowMs: 0 }), { now: null, peak: null });
});
