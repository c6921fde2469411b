import type { WriterRecord } from './writer-log.js';

export interface Stall {
  /** Sequence number of the last record before the gap. */
  readonly afterSeq: number;
  readonly fromUs: number;
  readonly toUs: number;
  readonly gapMs: number;
}

/** Merges records from several disks into one list ordered by the global sequence. */
export function mergeBySeq(...lists: readonly (readonly WriterRecord[])[]): WriterRecord[] {
  return lists.flat().sort((a, b) => a.seq - b.seq);
}

/** Gaps between consecutive records (by sequence) longer than `thresholdMs`. */
export function findStalls(records: readonly WriterRecord[], thresholdMs: number): Stall[] {
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  const out: Stall[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    const gapMs = (cur.timeUs - prev.timeUs) / 1000;
    if (gapMs > thresholdMs) out.push({ afterSeq: prev.seq, fromUs: prev.timeUs, toUs: cur.timeUs, gapMs });
  }
  return out;
}

/** The longest gap between consecutive records, in ms (0 with fewer than two records). */
export function longestStallMs(records: readonly WriterRecord[]): number {
  return findStalls(records, -1).reduce((max, s) => Math.max(max, s.gapMs), 0);
}

export interface OrderReport {
  /** True when no sequence number repeats and time never runs backwards along the sequence. */
  readonly ok: boolean;
  readonly duplicates: number[];
  /** Sequence numbers whose timestamp is earlier than their predecessor's. */
  readonly timeReversals: number[];
  /** Sequence numbers missing between the first and last seen (lost or overwritten writes). */
  readonly missing: number[];
  readonly first: number;
  readonly last: number;
}

/**
 * Checks cross-disk order: with one global counter and each write synced before the next, the
 * union of every disk's records must be one strictly increasing sequence whose timestamps never
 * go backwards. Missing numbers are reported separately (wrapping or a revert explain some).
 */
export function checkOrder(records: readonly WriterRecord[]): OrderReport {
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  const duplicates: number[] = [];
  const timeReversals: number[] = [];
  const missing: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.seq === prev.seq) duplicates.push(cur.seq);
    if (cur.timeUs < prev.timeUs) timeReversals.push(cur.seq);
    for (let s = prev.seq + 1; s < cur.seq && missing.length < 10_000; s++) missing.push(s);
  }
  return {
    ok: duplicates.length === 0 && timeReversals.length === 0,
    duplicates,
    timeReversals,
    missing,
    first: sorted[0]?.seq ?? 0,
    last: sorted.at(-1)?.seq ?? 0,
  };
}

/** Records whose serial matches (virtio-blk truncates serials to 20 characters in the guest). */
export function recordsForSerial(records: readonly WriterRecord[], serial: string): WriterRecord[] {
  const seen = serial.slice(0, 20);
  return records.filter((r) => r.serial === seen);
}
