import { test } from 'node:test';
import assert from 'node:assert/strict';
import { col, durationMs, humanBytes, parseSize, record, table } from './output.js';

void test('sizes people write become bytes; anything else is refused', () => {
  assert.equal(parseSize('10G'), 10 * 1024 ** 3);
  assert.equal(parseSize('512M'), 512 * 1024 ** 2);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('4096'), 4096);
  assert.throws(() => parseSize('ten gigs'), /not a size/);
  assert.equal(humanBytes(10 * 1024 ** 3), '10 GiB');
  assert.equal(humanBytes(1536), '1.5 KiB');
});

void test('tables align columns, show missing values as -, and keep one row per line', () => {
  const out = table(
    [
      { id: 'a', name: 'x\ny' },
      { id: 'bbbb', name: null },
    ],
    [col('id'), col('name')],
  );
  assert.equal(out, 'ID    NAME\na     x y\nbbbb  -');
});

void test('durations print rounded: whole milliseconds, one decimal under 10 ms', () => {
  assert.equal(durationMs(405.9977690000014), 406);
  assert.equal(durationMs(3.14159), 3.1);
  assert.equal(durationMs(0), 0);
  assert.equal(durationMs(null), null);
  assert.equal(durationMs('x'), 'x');
  const out = table([{ freezeMs: 405.9977690000014 }], [col('freeze ms', (r) => durationMs(r['freezeMs']))]);
  assert.equal(out, 'FREEZE MS\n406');
  assert.equal(record({ freezeMs: 12.5, sizeBytes: 12.5 }), 'freezeMs   13\nsizeBytes  12.5');
});
