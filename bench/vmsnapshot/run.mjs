#!/usr/bin/env node
// bench/vmsnapshot: Strata's VM snapshot (REST API, quiesce=guest, hypervisor strategy on a VM
// whose disks are all qcow2) side by side with `virsh snapshot-create-as --disk-only --atomic
// --quiesce` on the same VMs in the same run: the guest's stall (from the writer's own records),
// end-to-end latency, the stall with a 64 GiB against a 1 GiB data disk (thin), and the guest's
// I/O after 32 snapshots relative to none (native keeps its 32-deep chain, Strata applies its
// chain-depth policy). Interleaved repetitions, medians. Run by hand (never by CI):
//   npx tsc -b && node bench/vmsnapshot/run.mjs [repetitions]
// Writes bench/results/vmsnapshot.json. See bench/vmsnapshot/README.md.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bringUp } from '@strata/demo';
import { buildQcow2Vm } from '@strata/demo/qcow2-vm';
import { waitForGuestAgent } from '@strata/demo/story';
import { ioPhase } from './io-phase.mjs';
import { Native, StrataSnapshots, median, retrying, sleep, virsh } from './snapshotters.mjs';
import { stallRound } from './stall.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'vmsnapshot.json');
const reps = Number(process.argv[2] ?? 7);
// 32 by the benchmark's definition; BENCH_VMSNAPSHOT_ROUNDS only for a quick check of the script.
const DEPTH_ROUNDS = Number(process.env['BENCH_VMSNAPSHOT_ROUNDS'] ?? 32);
// Checked before anything starts: a typo would otherwise cost a bring-up and write NaN results.
// Rounds stop at 32: each rewrites its own 32nd of the I/O region (guest.mjs).
for (const [what, n, max, text] of [
  ['repetitions', reps, 1000, process.argv[2]],
  ['BENCH_VMSNAPSHOT_ROUNDS', DEPTH_ROUNDS, 32, process.env['BENCH_VMSNAPSHOT_ROUNDS']],
]) {
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`bench/vmsnapshot: ${what} must be an integer from 1 to ${max}, not "${text}"`);
    process.exit(2);
  }
}
const GiB = 1024 ** 3;
const log = (line) => console.error(`[bench] ${line}`);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

const root = await mkdtemp(join(tmpdir(), 'strata-bench-vmsnapshot-'));
const children = [];
const vms = [];
let env;
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
  const { rest, cloud } = env;
  // Our own thin qcow2 pool: the demo's is 64 GiB, too small for a 64 GiB disk next to the others.
  const poolDir = join(root, 'pools', 'bench');
  await mkdir(poolDir, { recursive: true, mode: 0o755 });
  const pool = await rest.post('/v1/storage-pools', {
    name: 'bench qcow2 (thin)',
    zoneId: cloud.zoneId,
    clusterId: cloud.clusterId,
    scope: 'cluster',
    provider: 'qcow2',
    managed: false,
    capacityBytes: 1024 * GiB,
    capacityIops: 0,
    url: `file://${poolDir}`,
  });
  for (const [label, size] of [
    ['1g', 1 * GiB],
    ['64g', 64 * GiB],
  ]) {
    const made = await buildQcow2Vm(rest, cloud, log, {
      start: false,
      name: `bench ${label}`,
      poolId: pool.id,
      dataSizeBytes: size,
    });
    vms.push({ label, vm: made.vm, disks: made.disks });
  }
  const strata = new StrataSnapshots(rest);
  for (const v of vms) await retrying(strata, () => rest.run(`/v1/vms/${v.vm.id}/start`));
  for (const v of vms) await waitForGuestAgent(v.vm.id);
  await sleep(3_000);
  const native = new Native(poolDir, rest);
  const loadStart = load();
  log(`load at start ${loadStart.join(' ')}`);

  // Stall and end-to-end latency: each repetition takes one Strata and one native snapshot of each
  // VM (alternating which goes first), each undone before the next (chains stay shallow).
  const samples = { strata: { '1g': [], '64g': [] }, native: { '1g': [], '64g': [] } };
  for (let r = 0; r <= reps; r++) {
    for (const v of vms) {
      const order = r % 2 ? [strata, native] : [native, strata];
      for (const who of order) {
        const s = await stallRound(who, v);
        if (r > 0) samples[who.kind][v.label].push(s); // round 0 warms up
        log(
          `rep ${r} ${v.label} ${who.kind}: e2e ${s.e2eMs.toFixed(0)} ms, stall ${s.stallMs.toFixed(0)} ms (normal gap ${s.normalGapMs.toFixed(0)} ms)`,
        );
      }
    }
  }
  const loadAfterStall = load();

  // The guest's I/O after 32 snapshots, relative to none, on the 1 GiB VM: native first (its
  // chain is committed back afterwards), then Strata on the same VM.
  const v1 = vms[0];
  const io = {};
  let ioError = null;
  for (const who of [native, strata]) {
    try {
      io[who.kind] = await ioPhase(who, v1, DEPTH_ROUNDS, log);
    } catch (e) {
      // keep the stall and e2e results: the I/O metrics come out NaN, with the reason
      ioError = `${who.kind}: ${String(e)}`;
      log(`I/O phase failed: ${ioError}`);
      io[who.kind] = {
        none: NaN,
        after: NaN,
        noneRead: NaN,
        afterRead: NaN,
        hostNone: NaN,
        hostAfter: NaN,
        e2e: [NaN],
        depth: NaN,
      };
      continue;
    }
    log(
      `${who.kind}: I/O ${io[who.kind].after.toFixed(2)} MiB/s after ${DEPTH_ROUNDS} vs ${io[who.kind].none.toFixed(2)} with none; ` +
        `host reads ${io[who.kind].hostAfter.toFixed(0)} vs ${io[who.kind].hostNone.toFixed(0)} MiB/s`,
    );
  }
  const loadEnd = load();

  const m = (who, label, key) => median(samples[who][label].map((s) => s[key]));
  const metrics = {
    stall_ms_strata: { value: m('strata', '1g', 'stallMs'), unit: 'ms' },
    stall_ms_native: { value: m('native', '1g', 'stallMs'), unit: 'ms' },
    stall_ratio_vs_native: {
      value: m('strata', '1g', 'stallMs') / m('native', '1g', 'stallMs'),
      unit: 'ratio',
    },
    stall_ratio_64g_1g: {
      value: m('strata', '64g', 'stallMs') / m('strata', '1g', 'stallMs'),
      unit: 'ratio',
    },
    e2e_ms_strata: { value: m('strata', '1g', 'e2eMs'), unit: 'ms' },
    e2e_ms_native: { value: m('native', '1g', 'e2eMs'), unit: 'ms' },
    io_after_32_ratio_strata: { value: io.strata.after / io.strata.none, unit: 'ratio' },
    io_after_32_ratio_native: { value: io.native.after / io.native.none, unit: 'ratio' },
    // context for reading the above
    stall_ms_strata_64g: { value: m('strata', '64g', 'stallMs'), unit: 'ms' },
    stall_ms_native_64g: { value: m('native', '64g', 'stallMs'), unit: 'ms' },
    stall_ratio_64g_1g_native: {
      value: m('native', '64g', 'stallMs') / m('native', '1g', 'stallMs'),
      unit: 'ratio',
    },
    writer_normal_gap_ms: { value: m('native', '1g', 'normalGapMs'), unit: 'ms' },
    e2e_ms_strata_64g: { value: m('strata', '64g', 'e2eMs'), unit: 'ms' },
    e2e_ms_native_64g: { value: m('native', '64g', 'e2eMs'), unit: 'ms' },
    io_none_mibps_strata: { value: io.strata.none, unit: 'MiB/s' },
    io_after_32_mibps_strata: { value: io.strata.after, unit: 'MiB/s' },
    io_none_mibps_native: { value: io.native.none, unit: 'MiB/s' },
    io_after_32_mibps_native: { value: io.native.after, unit: 'MiB/s' },
    io_read_ratio_strata: { value: io.strata.afterRead / io.strata.noneRead, unit: 'ratio' },
    io_read_ratio_native: { value: io.native.afterRead / io.native.noneRead, unit: 'ratio' },
    io_host_read_ratio_strata: { value: io.strata.hostAfter / io.strata.hostNone, unit: 'ratio' },
    io_host_read_ratio_native: { value: io.native.hostAfter / io.native.hostNone, unit: 'ratio' },
    io_host_read_none_mibps_strata: { value: io.strata.hostNone, unit: 'MiB/s' },
    io_host_read_after_32_mibps_strata: { value: io.strata.hostAfter, unit: 'MiB/s' },
    io_host_read_none_mibps_native: { value: io.native.hostNone, unit: 'MiB/s' },
    io_host_read_after_32_mibps_native: { value: io.native.hostAfter, unit: 'MiB/s' },
    chain_depth_after_32_strata: { value: io.strata.depth, unit: 'images' },
    chain_depth_after_32_native: { value: io.native.depth, unit: 'images' },
    e2e_ms_strata_32_rounds: { value: median(io.strata.e2e), unit: 'ms' },
    e2e_ms_strata_32_rounds_max: { value: Math.max(...io.strata.e2e), unit: 'ms' },
    e2e_ms_native_32_rounds: { value: median(io.native.e2e), unit: 'ms' },
  };
  const v = (k) => metrics[k].value;
  const targets = {
    stall_ratio_vs_native_at_most_1_2: v('stall_ratio_vs_native') <= 1.2,
    stall_ratio_64g_1g_at_most_1_1: v('stall_ratio_64g_1g') <= 1.1,
    e2e_at_most_native_plus_100ms: v('e2e_ms_strata') <= v('e2e_ms_native') + 100,
    io_after_32_at_least_95_percent: v('io_after_32_ratio_strata') >= 0.95,
  };
  const result = {
    name: 'vmsnapshot',
    when: new Date().toISOString(),
    machine: `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}`,
    repetitions: reps,
    depth_rounds: DEPTH_ROUNDS,
    strata_retries_agent_unavailable: strata.retries,
    io_phase_error: ioError,
    loadavg: { start: loadStart, after_stall_reps: loadAfterStall, end: loadEnd },
    notes:
      'Tiny TCG guest, 128 MiB, disks ROOT (ext4, writer log) + data (raw writer records), all qcow2 in one thin pool. ' +
      'Stall = longest gap between the writer records on the data disk that overlaps the snapshot (the writer is one loop ' +
      'round-robin over both disks, each write fsynced; a frozen root fs stalls it); the normal gap between two records ' +
      'on one disk is one writer round (writer_normal_gap_ms). e2e = request to done (Strata: REST POST to the job ' +
      'finished; native: the virsh process). Stall and e2e are medians over interleaved repetitions on the 1 GiB VM ' +
      '(64g keys: the 64 GiB VM), each snapshot undone before the next. I/O = MiB/s of a 32 MiB region read with ' +
      'O_DIRECT in 1 MiB and in 64 KiB requests plus 2 MiB of 4 KiB O_DIRECT writes, median of 5, after 32 snapshots ' +
      'against none on the same VM; before each snapshot 1 MiB of the region is rewritten scattered (every 32nd 64 KiB ' +
      'cluster), so its clusters end in different layers; disks cache=none. Native keeps its 33-deep chain, Strata its ' +
      'chain-depth policy (default bound). io_host_read_* = the same region read through the live chain by ' +
      'qemu-img bench (1 MiB O_DIRECT requests, queue depth 1, 9 whole reads), which the TCG guest cannot show.',
    metrics,
    targets,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
} catch (e) {
  const agentLog = await readFile(join(root, 'agent.log'), 'utf8').catch(() => '');
  log(`failed; the agent's last lines:\n${agentLog.split('\n').slice(-15).join('\n')}`);
  throw e;
} finally {
  for (const v of vms) {
    await env?.rest.run(`/v1/vms/${v.vm.id}/stop`, { forced: true }).catch(() => undefined);
    // its files go with the run's directory: leave no domain naming them (also when the stop failed)
    await virsh('destroy', v.vm.id).catch(() => undefined);
    await virsh('undefine', v.vm.id).catch(() => undefined);
  }
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true }).catch(() => undefined);
}
