// The guest writer's records on the iSCSI LUN, watched from the host while a migration runs: each
// new record is stamped with the host time at which it first appeared in the LUN's backing file
// (tgt writes it there before the guest's fsynced write completes). The guest's own timestamps
// cannot show a migration's pause: its clock stops with its vCPUs (see README).
import { Buffer } from 'node:buffer';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WRITER_RECORD_SIZE, decodeRecords, readWriterLog } from '@strata/testing';

/** Host wall clock in ms, sub-millisecond. */
export const now = () => performance.timeOrigin + performance.now();

// The writer wraps a raw disk at 64 MiB (131072 records of 512 bytes): the LUN is 64 MiB.
const SLOTS = 131_072;
const WINDOW = 128;

/**
 * Starts watching `path` (the LUN's raw file) every `pollMs`. The current boot's newest record is
 * the one with the latest guest time (a restarted guest writes from slot 0 again, its older boot's
 * records further on carry earlier times). `stop()` answers the records seen since, in order, each
 * with `hostMs`, and when the watch ended.
 */
export async function watchRecords(path, pollMs = 5) {
  const all = await readWriterLog(path, { format: 'raw' });
  let head = all.reduce((h, r) => (h === undefined || r.timeUs > h.timeUs ? r : h), undefined);
  if (!head) throw new Error(`no writer record in ${path}`);
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(WINDOW * WRITER_RECORD_SIZE);
  const seen = [];
  const startMs = now();
  let stopped = false;
  let polls = 0;
  const loop = (async () => {
    while (!stopped) {
      const at = now();
      const slot = (head.slot + 1) % SLOTS;
      const n = Math.min(WINDOW, SLOTS - slot);
      const { bytesRead } = await fh.read(buf, 0, n * WRITER_RECORD_SIZE, slot * WRITER_RECORD_SIZE);
      polls++;
      let expect = slot;
      for (const r of decodeRecords(buf.subarray(0, bytesRead))) {
        // an older boot's record (the guest restarted and writes from slot 0 again) has an earlier time
        if (r.slot !== expect || r.seq <= head.seq || r.timeUs < head.timeUs) break;
        seen.push({ seq: r.seq, timeUs: r.timeUs, slot: r.slot, hostMs: at });
        head = r;
        expect = (expect + 1) % SLOTS;
      }
      await sleep(pollMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await fh.close();
      return { records: seen, startMs, endMs: now(), polls };
    },
  };
}

/**
 * The longest gap between consecutive records (host arrival) that overlaps [fromMs, toMs], and
 * the guest clock's gap between the same two records, and where it began. A writer silent up to the watch's end
 * counts as a gap up to then (a lower bound). Also the writer's normal gap: the median before
 * `fromMs`.
 */
export function stallOf(watched, fromMs, toMs) {
  const { records, startMs, endMs } = watched;
  let stallMs = 0;
  let guestMs = 0;
  let atMs = NaN;
  const before = [];
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1];
    const b = records[i];
    const gap = b.hostMs - a.hostMs;
    if (b.hostMs <= fromMs) before.push(gap);
    if (b.hostMs >= fromMs && a.hostMs <= toMs && gap > stallMs) {
      stallMs = gap;
      guestMs = (b.timeUs - a.timeUs) / 1000;
      atMs = a.hostMs - fromMs;
    }
  }
  const lastMs = records.at(-1)?.hostMs ?? startMs;
  if (lastMs <= toMs && endMs - lastMs > stallMs) {
    stallMs = endMs - lastMs;
    guestMs = NaN; // no record after it: the guest clock cannot say
    atMs = lastMs - fromMs;
  }
  return {
    stallMs,
    // where the longest gap began, from `fromMs` (the call)
    stallAtMs: atMs,
    guestClockStallMs: guestMs,
    normalGapMs: median(before),
    records: records.length,
  };
}

/** The median of the finite values (NaN marks a value a sample could not measure). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
