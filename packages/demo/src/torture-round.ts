import { checkOrder, findStalls, mergeBySeq, type WriterRecord } from '@strata/testing';
import type { Rest } from './rest.js';
import { readAll, type DemoDisk, type SnapshotView } from './story.js';
import { checkRevert, cutOutsideWindow, stallInWindow, type DiskRecords } from './torture-checks.js';
import { guestClockOffsetUs } from './torture-clock.js';
import { checkLabel } from './torture-labels.js';

/** A quiesce mode, or `memory`: a snapshot with the guest's memory (default quiesce). */
export type TortureMode = 'guest' | 'hypervisor' | 'pause' | 'none' | 'memory';

/** One VM snapshot taken under the writer's load, with what its checks need. */
export interface Taken {
  readonly index: number;
  readonly mode: TortureMode;
  readonly snap: SnapshotView;
  /** Host clock (µs) just before the create was posted and just after its job finished. */
  readonly fromUs: number;
  readonly toUs: number;
  /** The guest's clock against the host's, read just before: a pause stops the guest's clock. */
  readonly clock: { readonly offsetUs: number; readonly errorUs: number };
}

/** Takes snapshot `index` in `mode` of a running VM whose guest writes (a name with metacharacters). */
export async function takeUnderLoad(
  rest: Rest,
  vmId: string,
  hostUri: string | undefined,
  index: number,
  mode: TortureMode,
): Promise<Taken> {
  // read before every snapshot: the guest's clock stands still whenever its vCPUs are paused
  const clock = await guestClockOffsetUs(vmId, hostUri);
  const fromUs = Date.now() * 1000;
  const body =
    mode === 'memory'
      ? { vmId, name: `t${index} <memory> & "load"`, snapshotMemory: true }
      : { vmId, name: `t${index} <${mode}> & "load"`, quiesce: mode };
  const r = await rest.run<SnapshotView>('/v1/vm-snapshots', body);
  const toUs = Date.now() * 1000;
  const snap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${r.resource.id}`);
  return { index, mode, snap, fromUs, toUs, clock };
}

/** The gap between writes from which a stall counts: four typical gaps, at least 100 ms. */
export function stallThresholdMs(history: DiskRecords): number {
  const gaps = findStalls(mergeBySeq(...history.values()), -1)
    .map((s) => s.gapMs)
    .sort((a, b) => a - b);
  return Math.max(100, 4 * (gaps[Math.floor(gaps.length / 2)] ?? 0));
}

export interface RevertCheck {
  /** The cut the revert brought back: the last write of the snapshot's point. */
  readonly lastSeq: number;
  readonly problems: readonly string[];
  readonly revertMs: number;
  readonly stallGapMs: number | undefined;
}

/**
 * Reverts a stopped VM to `s` and checks every disk against the writer's full history (read at the
 * stop): the cut is one instant, inside the window in which the snapshot's job ran, its label is
 * true, and with a guest freeze no write acknowledged before the freeze is missing. A memory
 * snapshot comes back running from its memory and its writer carries on: it is stopped again and
 * the writes up to the cut must be the history's, every later one new.
 */
export async function revertAndCheck(
  rest: Rest,
  vmId: string,
  disks: readonly DemoDisk[],
  s: Taken,
  history: DiskRecords,
  thresholdMs: number,
): Promise<RevertCheck> {
  const r0 = Date.now();
  await rest.run(`/v1/vm-snapshots/${s.snap.id}/revert`);
  const revertMs = Date.now() - r0;
  if (s.mode === 'memory') await rest.run(`/v1/vms/${vmId}/stop`, { forced: true });
  const after = await readAll(rest, disks);
  const problems: string[] = [];
  let lastSeq: number;
  if (s.mode === 'memory') {
    const v = memoryVerdict(after, history);
    lastSeq = v.cut;
    problems.push(...v.problems);
  } else {
    const verdict = checkRevert(after, history);
    lastSeq = verdict.lastSeq;
    problems.push(...verdict.problems);
  }
  problems.push(...checkLabel(s.snap.consistency, after));
  const slack = s.clock.errorUs + 250_000;
  const window = { fromUs: s.fromUs + s.clock.offsetUs - slack, toUs: s.toUs + s.clock.offsetUs + slack };
  problems.push(...cutOutsideWindow(history, lastSeq, window));
  const stall = stallInWindow(history, window, thresholdMs, s.snap.freezeMs ?? undefined);
  // A record's time is read before its write: the record just before the stall is the write that
  // met the freeze, so only the records before it are known acknowledged before the freeze. Only a
  // guest-mode freeze is checked so: a hypervisor-mode cut holds the guest too briefly to stand out
  // from a loaded machine's stalls, a pause stops the guest's clock with its writer, none holds nothing.
  if (s.mode === 'guest') {
    const acknowledged = stall ? stall.afterSeq - 1 : 0;
    if (!stall) problems.push('no writer stall during its guest freeze');
    else if (lastSeq < acknowledged)
      problems.push(`writes #${lastSeq + 1}..#${acknowledged} acknowledged before the freeze are missing`);
  }
  return { lastSeq, problems, revertMs, stallGapMs: stall?.gapMs };
}

/** After a memory revert: one ordered run from #1, its first `cut` writes the history's, the rest new. */
function memoryVerdict(after: DiskRecords, history: DiskRecords): { cut: number; problems: string[] } {
  const merged = mergeBySeq(...after.values());
  const order = checkOrder(merged);
  const problems: string[] = [];
  if (!order.ok)
    problems.push(`out of order after the memory revert: ${JSON.stringify(order).slice(0, 200)}`);
  if (order.missing.length > 0)
    problems.push(`writes missing after the memory revert: ${order.missing.length}`);
  if (merged.length > 0 && order.first !== 1) problems.push(`the first write present is #${order.first}`);
  const cut = commonPrefix(merged, mergeBySeq(...history.values()));
  if (cut === 0) problems.push('no write of the history survived the memory revert');
  return { cut, problems };
}

/** The longest run of writes from #1 that two reads share, record for record. */
export function commonPrefix(a: readonly WriterRecord[], b: readonly WriterRecord[]): number {
  const bySeq = new Map(b.map((r) => [r.seq, r]));
  let n = 0;
  for (const r of a) {
    const o = bySeq.get(r.seq);
    if (r.seq !== n + 1 || !o || o.timeUs !== r.timeUs || o.device !== r.device) break;
    n = r.seq;
  }
  return n;
}
