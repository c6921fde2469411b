import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WriterRecord } from '@strata/testing';
import { checkRevert, cutOutsideWindow, shuffled, stallInWindow } from './torture-checks.js';
import { checkLabel } from './torture-labels.js';

// Writes #1..#n round-robin over disks a and b, 10 ms apart, with a 300 ms stall after #6.
function history(n: number): Map<string, WriterRecord[]> {
  const out = new Map<string, WriterRecord[]>([
    ['a', []],
    ['b', []],
  ]);
  for (let seq = 1; seq <= n; seq++) {
    const device = seq % 2 ? 'a' : 'b';
    const timeUs = seq * 10_000 + (seq > 6 ? 300_000 : 0);
    out.get(device)!.push({ seq, timeUs, slot: seq, device, serial: device });
  }
  return out;
}
const upTo = (h: Map<string, WriterRecord[]>, last: number) =>
  new Map([...h].map(([k, v]) => [k, v.filter((r) => r.seq <= last)]));

test('a consistent cut passes; a later write kept past a lost one, or a disk not gone back, fails', () => {
  const h = history(12);
  assert.deepEqual(checkRevert(upTo(h, 7), h), { lastSeq: 7, problems: [] });
  // disk b lost #6 but a kept #7: cross-disk order broken
  const torn = new Map([
    ['a', h.get('a')!.filter((r) => r.seq <= 7)],
    ['b', h.get('b')!.filter((r) => r.seq <= 4)],
  ]);
  assert.match(checkRevert(torn, h).problems.join(), /missing below #7/);
  // disk b still holds everything: it did not go back
  const stale = new Map([
    ['a', h.get('a')!.filter((r) => r.seq <= 7)],
    ['b', h.get('b')!],
  ]);
  assert.ok(checkRevert(stale, h).problems.length > 0);
  // a write the guest never made
  const alien = upTo(h, 3);
  alien.get('a')!.push({ seq: 4, timeUs: 1, slot: 9, device: 'a', serial: 'a' });
  assert.ok(checkRevert(alien, h).problems.length > 0);
});

test('the stall of a freeze is found in its window only; shuffles replay from their seed', () => {
  const h = history(12);
  assert.equal(stallInWindow(h, { fromUs: 50_000, toUs: 400_000 }, 100)?.afterSeq, 6);
  assert.equal(stallInWindow(h, { fromUs: 0, toUs: 40_000 }, 100), undefined);
  // two stalls in the window: the one as long as the recorded hold is the freeze
  const two = history(12);
  for (const r of two.get('a')!) if (r.seq >= 11) Object.assign(r, { timeUs: r.timeUs + 1_000_000 });
  for (const r of two.get('b')!) if (r.seq >= 11) Object.assign(r, { timeUs: r.timeUs + 1_000_000 });
  assert.equal(stallInWindow(two, { fromUs: 0, toUs: 2_000_000 }, 100)?.afterSeq, 10);
  assert.equal(stallInWindow(two, { fromUs: 0, toUs: 2_000_000 }, 100, 320)?.afterSeq, 6);
  // the freeze's stall (900 ms) runs past its 467 ms hold; a later, shorter one (a commit's drain)
  // is nearer the hold in length, yet the freeze came first
  const shift = (r: WriterRecord) => (r.seq > 6 ? 600_000 : 0) + (r.seq > 10 ? 190_000 : 0);
  const drained = new Map(
    [...history(14)].map(([k, v]) => [k, v.map((r) => ({ ...r, timeUs: r.timeUs + shift(r) }))]),
  );
  assert.equal(stallInWindow(drained, { fromUs: 0, toUs: 3_000_000 }, 100, 467)?.afterSeq, 6);
  // with no stall that long, the nearest in length
  assert.equal(stallInWindow(drained, { fromUs: 0, toUs: 3_000_000 }, 100, 5_000)?.afterSeq, 6);
  assert.equal(stallInWindow(drained, { fromUs: 1_000_000, toUs: 3_000_000 }, 100, 467)?.afterSeq, 10);
  const items = [...Array(20).keys()];
  assert.deepEqual(shuffled(items, 7), shuffled(items, 7));
  assert.deepEqual(
    [...shuffled(items, 7)].sort((x, y) => x - y),
    items,
  );
  assert.notDeepEqual(shuffled(items, 7), items);
});

test('a cut outside its job window is caught: writes acknowledged before the create lost, or one begun after it kept', () => {
  const h = history(12);
  // #1..#3 at 10..30 ms: a create posted at 35 ms must keep #1..#2 (#3 may still be in flight)
  assert.deepEqual(cutOutsideWindow(h, 2, { fromUs: 35_000, toUs: 400_000 }), []);
  assert.deepEqual(cutOutsideWindow(h, 7, { fromUs: 35_000, toUs: 400_000 }), []);
  assert.match(cutOutsideWindow(h, 1, { fromUs: 35_000, toUs: 400_000 }).join(), /#2..#2 acknowledged/);
  // #7 began at 370 ms: a job that ended at 360 ms cannot hold it
  assert.match(cutOutsideWindow(h, 7, { fromUs: 35_000, toUs: 360_000 }).join(), /#7 began after/);
  assert.deepEqual(cutOutsideWindow(h, 0, { fromUs: 0, toUs: 5_000 }), []);
});

test('a label is true only of a cut at one instant: a disk newer than a write lost from another makes it false', () => {
  const h = history(12);
  assert.deepEqual(checkLabel('crash', upTo(h, 7)), []);
  assert.deepEqual(checkLabel('filesystem', upTo(h, 0)), [], 'nothing written yet is one instant too');
  const torn = new Map([
    ['a', h.get('a')!.filter((r) => r.seq <= 9)],
    ['b', h.get('b')!.filter((r) => r.seq <= 4)],
  ]);
  assert.match(checkLabel('crash', torn).join(), /a holds write #9 while #6/);
  assert.match(checkLabel('inconsistent', upTo(h, 7)).join(), /not documented/);
  assert.match(checkLabel(null, upTo(h, 7)).join(), /not documented/);
});
