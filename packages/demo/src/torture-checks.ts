import { checkOrder, findStalls, mergeBySeq, type Stall, type WriterRecord } from '@strata/testing';

/** What the guest's writer left on every disk, by disk label. */
export type DiskRecords = ReadonlyMap<string, readonly WriterRecord[]>;

export interface RevertVerdict {
  /** Highest sequence number on any disk after the revert (0 when nothing was written). */
  readonly lastSeq: number;
  /** Everything found wrong; empty when the revert is right. */
  readonly problems: readonly string[];
}

/**
 * Checks one revert against the writer's full history (every disk read at the stop, before any
 * revert). With one global counter and each write synced before the next, a consistent cut holds
 * exactly the writes 1..L for some L, spread over the disks as the history has them: no duplicate,
 * no time running backwards, nothing missing below L, nothing that is not in the history. Every
 * disk must also have gone back: it differs from its state at the stop unless nothing was written
 * to it after the cut.
 */
export function checkRevert(after: DiskRecords, history: DiskRecords): RevertVerdict {
  const problems: string[] = [];
  const merged = mergeBySeq(...after.values());
  const order = checkOrder(merged);
  if (order.duplicates.length > 0) problems.push(`duplicate writes ${summary(order.duplicates)}`);
  if (order.timeReversals.length > 0) problems.push(`time runs backwards at ${summary(order.timeReversals)}`);
  if (merged.length > 0 && order.first !== 1)
    problems.push(`the first write present is #${order.first}, not #1`);
  if (order.missing.length > 0)
    problems.push(
      `writes missing below #${order.last} (a later write survived them): ${summary(order.missing)}`,
    );
  const known = new Map<number, WriterRecord>();
  for (const r of mergeBySeq(...history.values())) known.set(r.seq, r);
  for (const r of merged) {
    const h = known.get(r.seq);
    if (!h || h.timeUs !== r.timeUs || h.device !== r.device) {
      problems.push(`write #${r.seq} on ${r.device} is not the one the guest made`);
      break;
    }
  }
  for (const [label, records] of history) {
    const now = after.get(label) ?? [];
    const lastNow = now.at(-1)?.seq ?? 0;
    const lastThen = records.at(-1)?.seq ?? 0;
    const wroteAfterCut = records.some((r) => r.seq > order.last);
    if (wroteAfterCut && lastNow >= lastThen)
      problems.push(`${label} did not go back (last write #${lastNow})`);
  }
  return { lastSeq: order.last, problems };
}

/** The full history must itself be one contiguous run from #1: else the writer wrapped or lost writes. */
export function checkHistory(history: DiskRecords): string[] {
  const order = checkOrder(mergeBySeq(...history.values()));
  const out: string[] = [];
  if (!order.ok)
    out.push(`history out of order: dup ${summary(order.duplicates)}, rev ${summary(order.timeReversals)}`);
  if (order.missing.length > 0) out.push(`history has holes: ${summary(order.missing)}`);
  if (order.first !== 1) out.push(`history starts at #${order.first}`);
  return out;
}

/**
 * The writer's stall that matches a guest freeze, among the gaps in the history longer than
 * `thresholdMs` that overlap the window in which the snapshot's job ran (guest clock, µs). A
 * write that meets the freeze waits for the whole hold, so the freeze's stall is at least about as
 * long as the hold the snapshot recorded (`holdMs`): the earliest stall of at least 0.8× the hold
 * is taken, since the stalls after it (a block commit's drain, a loaded machine) come later. With
 * none that long, the one closest in length; without a hold, the longest. Undefined when the
 * writer did not stall.
 */
export function stallInWindow(
  history: DiskRecords,
  window: { readonly fromUs: number; readonly toUs: number },
  thresholdMs: number,
  holdMs?: number,
): Stall | undefined {
  const stalls = findStalls(mergeBySeq(...history.values()), thresholdMs).filter(
    (s) => s.toUs >= window.fromUs && s.fromUs <= window.toUs,
  );
  if (holdMs === undefined) return stalls.sort((a, b) => b.gapMs - a.gapMs)[0];
  const longEnough = stalls.filter((s) => s.gapMs >= 0.8 * holdMs).sort((a, b) => a.fromUs - b.fromUs);
  return longEnough[0] ?? stalls.sort((a, b) => Math.abs(a.gapMs - holdMs) - Math.abs(b.gapMs - holdMs))[0];
}

/**
 * The cut must fall inside the window in which the snapshot's job ran (guest clock, µs, already
 * widened by the clock's error): every write acknowledged before the create was posted is in the
 * snapshot, and no write that began after the job ended is. Writes are synced one after another, so
 * write #n was acknowledged by the time #n+1's time was read. Holds for every quiesce mode, whatever
 * the writer's stalls look like on a loaded machine.
 */
export function cutOutsideWindow(
  history: DiskRecords,
  lastSeq: number,
  window: { readonly fromUs: number; readonly toUs: number },
): string[] {
  const merged = mergeBySeq(...history.values());
  const problems: string[] = [];
  let acknowledged = 0;
  for (let i = 1; i < merged.length && merged[i]!.timeUs < window.fromUs; i++)
    acknowledged = merged[i - 1]!.seq;
  if (lastSeq < acknowledged)
    problems.push(
      `writes #${lastSeq + 1}..#${acknowledged} acknowledged before the create was posted are missing`,
    );
  const last = merged.find((r) => r.seq === lastSeq);
  if (last && last.timeUs > window.toUs)
    problems.push(`write #${lastSeq} began after the snapshot's job ended, yet is in it`);
  return problems;
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed from its seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function summary(seqs: readonly number[]): string {
  return seqs.length > 8 ? `${seqs.slice(0, 8).join(', ')}, … (${seqs.length})` : seqs.join(', ');
}
