// One stall-and-latency sample: a snapshot taken while the guest's writer runs, then the writer's
// records read back to find the longest gap around it. The snapshot is undone afterwards.
import { guestClockOffsetMs, liveRecords, normalGapMs, stallAround } from './guest.mjs';
import { sleep } from './snapshotters.mjs';

export async function stallRound(who, v) {
  const offset = await guestClockOffsetMs(v.vm.id);
  await sleep(1_000); // a second of normal writing before the snapshot
  const t0 = Date.now();
  const ref = await who.take(v);
  const t1 = Date.now();
  await sleep(1_500); // and some after it
  const records = await liveRecords(await who.dataActive(v, ref));
  const result = {
    e2eMs: ref.e2eMs,
    stallMs: stallAround(records, t0, t1, offset),
    normalGapMs: normalGapMs(records, t0 - 1_000, t0 - 50, offset),
  };
  await who.undo(v, ref);
  return result;
}
