// The guest's I/O after 32 snapshots relative to none, on one VM: a 32 MiB region of the data disk
// gets one fresh MiB before each snapshot, so after 32 snapshots its data is spread over 32 layers
// (native) or over what Strata's chain-depth policy left.
import { fillRegion, ioSample, writeChunk } from './guest.mjs';
import { chainDepth, median } from './snapshotters.mjs';

const PASSES = 3;

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
  const none = await measure(domain, disk, 0);
  const refs = [];
  for (let i = 0; i < rounds; i++) {
    await writeChunk(domain, disk, i);
    refs.push(await who.take(v));
  }
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
    e2e: refs.map((r) => r.e2eMs),
    depth,
  };
}
