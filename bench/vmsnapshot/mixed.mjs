#!/usr/bin/env node
// bench/vmsnapshot, the mixed VM: ROOT on qcow2 and a data disk on each of qcow2, tgt iSCSI and
// Ceph RBD, a filesystem writer and a raw-disk writer running in its guest (mixed-guest.mjs).
// Interleaved rounds, each taking one snapshot of every kind on the same VM: native
// `virsh snapshot-create-as --disk-only --atomic --quiesce --no-metadata` (file overlays over every
// disk, committed back after), and Strata in the modes guest, hypervisor and pause. Medians.
// Run by hand (never by CI):   npx tsc -b && node bench/vmsnapshot/mixed.mjs [repetitions]
// Adds the *_mixed_* metrics to bench/results/vmsnapshot.json, keeping the others.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setWriterInterval } from '@strata/testing';
import { bringUp } from '@strata/demo';
import { buildDemoVm, waitForGuestAgent } from '@strata/demo/story';
import { guestClockOffsetMs } from './guest.mjs';
import { acks, longestGapMs, startWriters, stopWriters } from './mixed-guest.mjs';
import { median, sleep, virsh } from './snapshotters.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'vmsnapshot.json');
const reps = Number(process.argv[2] ?? 5);
if (!Number.isInteger(reps) || reps < 1 || reps > 100) {
  console.error(
    `bench/vmsnapshot/mixed: repetitions must be an integer from 1 to 100, not "${process.argv[2]}"`,
  );
  process.exit(2);
}
const log = (line) => console.error(`[mixed] ${new Date().toISOString()} ${line}`);
const SIDES = ['native', 'guest', 'hypervisor', 'pause'];

/** Native: file overlays over every disk, atomically, with libvirt's own quiesce; then committed back. */
async function nativeSnapshot(vm, disks, dir, n) {
  const files = disks.map((d) => join(dir, `native-${n}-${d.deviceName}.qcow2`));
  const specs = disks.flatMap((d, i) => ['--diskspec', `${d.deviceName},file=${files[i]}`]);
  const t0 = performance.now();
  await virsh(
    'snapshot-create-as',
    '--domain',
    vm,
    '--disk-only',
    '--atomic',
    '--quiesce',
    '--no-metadata',
    ...specs,
  );
  const e2eMs = performance.now() - t0;
  return {
    e2eMs,
    holdMs: null,
    undo: async () => {
      for (const d of disks)
        await virsh(
          'blockcommit',
          '--domain',
          vm,
          '--path',
          d.deviceName,
          '--active',
          '--shallow',
          '--pivot',
        );
      for (const f of files) await rm(f, { force: true });
    },
  };
}

async function strataSnapshot(rest, vm, mode, n) {
  const t0 = performance.now();
  const { resource } = await rest.run('/v1/vm-snapshots', {
    vmId: vm,
    name: `mixed ${n} <${mode}>`,
    quiesce: mode,
  });
  const e2eMs = performance.now() - t0;
  const snap = await rest.get(`/v1/vm-snapshots/${resource.id}`);
  return { e2eMs, holdMs: snap.freezeMs, undo: () => rest.runDelete(`/v1/vm-snapshots/${resource.id}`) };
}

const root = await mkdtemp(join(tmpdir(), 'strata-bench-mixed-'));
const children = [];
let env;
let vmId;
try {
  const port = 25_000 + Math.floor(Math.random() * 1000);
  env = await bringUp({
    root,
    port,
    agentPort: port + 1000,
    detached: false,
    log,
    track: (c) => children.push(c),
  });
  const { rest } = env;
  if (!env.cloud.pools.rbd) throw new Error('Ceph must run: the mixed VM has a disk on RBD');
  const { vm, disks: demoDisks } = await buildDemoVm(rest, env.backends, env.cloud, log);
  vmId = vm.id;
  await waitForGuestAgent(vm.id, 180_000);
  // the init writer only paces itself; the bench's two writers make the load
  await setWriterInterval(vm.id, 60);
  const disks = await Promise.all(demoDisks.map((d) => rest.get(`/v1/volumes/${d.volume.id}`)));
  const rootDisk = disks.find((d) => d.type === 'ROOT');
  const dataDisks = disks.filter((d) => d.type !== 'ROOT');
  await startWriters(
    vm.id,
    `/mnt/${rootDisk.deviceName}`,
    dataDisks.map((d) => d.deviceName),
  );
  const overlayDir = dirname(rootDisk.backendRef);
  await sleep(3_000);
  const samples = Object.fromEntries(SIDES.map((s) => [s, []]));
  const failures = Object.fromEntries(SIDES.map((s) => [s, []]));
  for (let r = 0; r <= reps; r++) {
    // round 0 warms up; the order rotates so no side always follows another
    const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]);
    for (const side of order) {
      const offsetMs = await guestClockOffsetMs(vm.id);
      await sleep(1_000);
      const t0 = Date.now();
      let s;
      try {
        s =
          side === 'native'
            ? await nativeSnapshot(vm.id, disks, overlayDir, r)
            : await strataSnapshot(rest, vm.id, side, r);
      } catch (e) {
        // a failed snapshot is a result too (a hold past its deadline, say): counted, not sampled
        failures[side].push(String(e.message ?? e).slice(0, 300));
        log(`round ${r} ${side}: failed: ${e.message ?? e}`);
        continue;
      }
      const t1 = Date.now();
      await sleep(1_500);
      const from = (t0 + offsetMs - 100) * 1000;
      const to = (t1 + offsetMs + 100) * 1000;
      const fsMs = longestGapMs(await acks(vm.id, 'fs'), from, to);
      const rawMs = longestGapMs(await acks(vm.id, 'raw'), from, to);
      log(
        `round ${r} ${side}: fs stall ${fsMs.toFixed(0)} ms, raw stall ${rawMs.toFixed(0)} ms, e2e ${s.e2eMs.toFixed(0)} ms, hold ${s.holdMs ?? '-'} ms`,
      );
      if (r > 0) samples[side].push({ fsMs, rawMs, e2eMs: s.e2eMs, holdMs: s.holdMs });
      await s.undo();
    }
  }
  await stopWriters(vm.id);
  const med = (side, k) => median(samples[side].map((x) => x[k]));
  const worse = (k) => Math.max(med('guest', k), med('hypervisor', k));
  const ms = (value) => ({ value, unit: 'ms' });
  const ratio = (value) => ({ value, unit: 'ratio' });
  const metrics = {
    fs_stall_ms_mixed_native: ms(med('native', 'fsMs')),
    fs_stall_ms_mixed_strata_guest: ms(med('guest', 'fsMs')),
    fs_stall_ms_mixed_strata_hypervisor: ms(med('hypervisor', 'fsMs')),
    fs_stall_ms_mixed_strata_pause: ms(med('pause', 'fsMs')),
    fs_stall_ratio_mixed_vs_native: ratio(worse('fsMs') / med('native', 'fsMs')),
    raw_stall_ms_mixed_native: ms(med('native', 'rawMs')),
    raw_stall_ms_mixed_strata_guest: ms(med('guest', 'rawMs')),
    raw_stall_ms_mixed_strata_hypervisor: ms(med('hypervisor', 'rawMs')),
    raw_stall_ms_mixed_strata_pause: ms(med('pause', 'rawMs')),
    raw_stall_ratio_mixed_vs_native: ratio(worse('rawMs') / med('native', 'rawMs')),
    pause_ms_mixed_strata: ms(med('pause', 'holdMs')),
    hold_ms_mixed_strata_guest: ms(med('guest', 'holdMs')),
    hold_ms_mixed_strata_hypervisor: ms(med('hypervisor', 'holdMs')),
    e2e_ms_mixed_native: ms(med('native', 'e2eMs')),
    e2e_ms_mixed_strata_guest: ms(med('guest', 'e2eMs')),
    e2e_ms_mixed_strata_hypervisor: ms(med('hypervisor', 'e2eMs')),
    e2e_ms_mixed_strata: ms(worse('e2eMs')),
  };
  const v = (k) => metrics[k].value;
  const targets = {
    fs_stall_ratio_mixed_at_most_1_2: v('fs_stall_ratio_mixed_vs_native') <= 1.2,
    raw_stall_ratio_mixed_at_most_1_2: v('raw_stall_ratio_mixed_vs_native') <= 1.2,
    e2e_mixed_at_most_native_plus_500ms: v('e2e_ms_mixed_strata') <= v('e2e_ms_mixed_native') + 500,
  };
  const mixed = {
    when: new Date().toISOString(),
    machine: `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}`,
    repetitions: reps,
    failures,
    loadavg_end: loadavg(),
    notes:
      'Mixed VM: ROOT qcow2 (ext4) + 64 MiB data disks on qcow2, tgt iSCSI and Ceph RBD. In the guest a filesystem ' +
      'writer (4 KiB dd conv=fsync into a file on ROOT, every 13 ms) and a raw writer (512 B synced records ' +
      'round-robin over the three data disks) log the guest clock after each acknowledged write into guest RAM; a ' +
      'stall is the longest gap between acknowledgements that overlaps the snapshot. Native: virsh ' +
      'snapshot-create-as --disk-only --atomic --quiesce --no-metadata with file overlays over all four disks (its ' +
      'e2e is the virsh process), committed back after each round. Strata: REST POST to job done, modes guest, ' +
      'hypervisor, pause, each snapshot deleted after its round. The ratios take the worse of guest and hypervisor. ' +
      'Medians over the repetitions after a warm-up round; the order of the four sides rotates every round.',
  };
  let all = { metrics: {}, targets: {} };
  try {
    all = JSON.parse(await readFile(out, 'utf8'));
  } catch {
    // first run: the file holds only these
  }
  const result = {
    ...all,
    mixed,
    metrics: { ...all.metrics, ...metrics },
    targets: { ...all.targets, ...targets },
  };
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ mixed, metrics, targets }, null, 2));
} finally {
  if (vmId) {
    await virsh('destroy', vmId).catch(() => undefined);
    await virsh('undefine', vmId).catch(() => undefined);
  }
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true }).catch(() => undefined);
}
