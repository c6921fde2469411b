// The guest's I/O after 32 snapshots relative to none, on one VM: a 32 MiB region of the data disk
// gets one fresh MiB, scattered over it, before each snapshot, so after 32 snapshots its clusters
// are spread over 32 layers (native) or over what Strata's chain-depth policy left.
import { fillRegion, ioSample, writeChunk } from './guest.mjs';
import { hostReadMibPerS } from './host-io.mjs';
import { chainDepth, median } from './snapshotters.mjs';

const PASSES = 5;

async function measure(domain, disk, firstPass) {
  const samples = [];
  for (let p = 0; p < PASSES; p++) samples.push(await ioSample(domain, disk, firstPass + p));
  return {
    mibPerS: median(samples.map((s) => s.mibPerS)),
    readMibPerS: median(samples.map((s) => s.readMibPerS)),
  };
}

export async function ioPhase(who, v, rounds, log) {
  const domain = v.vm.id;
  const disk = v.disks[1].volume.deviceName;
  const bases = await who.activePaths(v);
  await fillRegion(domain, disk);
  // the host reads first: the guest's samples write into the region
  const hostNone = await hostReadMibPerS(bases[1]);
  const none = await measure(domain, disk, 0);
  const refs = [];
  for (let i = 0; i < rounds; i++) {
    await writeChunk(domain, disk, i);
    refs.push(await who.take(v));
  }
  const hostAfter = await hostReadMibPerS(
    who.kind === 'native' ? who.dataActive(v, refs.at(-1)) : await who.dataActive(v),
  );
  const after = await measure(domain, disk, PASSES);
  const actives = who.kind === 'native' ? refs.at(-1).files : await who.activePaths(v);
  const depth = Math.max(...(await Promise.all(actives.map(chainDepth))));
  log(`${who.kind}: ${rounds} snapshots, active chain ${depth} deep`);
  if (who.kind === 'native') await who.undoChain(v, refs, bases);
  return {
    none: none.mibPerS,
    after: after.mibPerS,
    noneRead: none.readMibPerS,
    afterRead: after.readMibPerS,
    hostNone,
    hostAfter,
    e2e: refs.map((r) => r.e2eMs),
    depth,
  };
}
