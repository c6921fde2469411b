#!/usr/bin/env node
// bench/disk-move: Strata's whole move of a running guest's disk (POST /v1/volumes/{id}/migrate,
// job waited for) side by side with a plain `virsh blockcopy --pivot` of the same 1 GiB disk into
// a destination created beforehand (its creation not counted), in the same run, between the same
// two qcow2 pool directories; and the guest writer's longest stall during Strata's move.
// Interleaved rounds, medians. Run by hand (never by CI):
//   npx tsc -b && node bench/disk-move/run.mjs [rounds]
// Writes bench/results/disk-move.json.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { bringUp } from '@strata/demo';
import { waitForGuestAgent } from '@strata/demo/story';
import { longestStallMs, readWriterLog } from '@strata/testing';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'disk-move.json');
const rounds = Number(process.argv[2] ?? 3);
if (process.argv.length > 3 || !Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  console.error(`bench/disk-move: usage: run.mjs [rounds], an integer from 1 to 50`);
  process.exit(2);
}
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const log = (line) => console.error(`[bench] ${new Date().toISOString().slice(11, 23)} ${line}`);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const virsh = (args) => run('virsh', ['-q', '-c', 'qemu:///system', ...args], { timeout: 1_800_000 });

const root = await mkdtemp('/var/tmp/strata-bench-disk-move-');
await chmod(root, 0o755);
const children = [];
let env;
let vmId;
let poolDir;
try {
  const port = 27_000 + Math.floor(Math.random() * 1000);
  env = await bringUp({
    root,
    port,
    agentPort: port + 1000,
    detached: false,
    log,
    track: (c) => children.push(c),
  });
  const { rest, cloud, backends } = env;
  const sfx = Math.random().toString(36).slice(2, 6);
  // a second qcow2 pool beside the demo's, in the directory the agent serves
  poolDir = join(dirname(backends.qcow2Dir), `bench-disk-move-${sfx}`);
  await mkdir(poolDir, { recursive: true });
  await chmod(poolDir, 0o777);
  const pools = await rest.get(`/v1/storage-pools/${cloud.pools.qcow2}`);
  const other = await rest.post('/v1/storage-pools', {
    name: `bench disk move ${sfx}`,
    zoneId: cloud.zoneId,
    clusterId: cloud.clusterId,
    scope: 'cluster',
    managed: true,
    provider: 'qcow2',
    url: `file://${poolDir}`,
    capacityBytes: 64 * GiB,
    capacityIops: pools.capacityIops ?? 0,
  });
  const { resource: vm } = await rest.run('/v1/vms/deploy', {
    name: `bench disk move ${sfx}`,
    templateId: cloud.templateId,
    poolId: cloud.pools.qcow2,
    memoryBytes: 128 * MiB,
    start: true,
  });
  vmId = vm.id;
  await waitForGuestAgent(vm.id, 180_000);
  const { resource: made } = await rest.run('/v1/volumes', {
    name: `moving ${sfx}`,
    poolId: cloud.pools.qcow2,
    sizeBytes: GiB,
  });
  // 1 GiB of data on it before the guest sees it: every move copies all of it
  const fresh = await rest.get(`/v1/volumes/${made.id}`);
  await run('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 0 ${GiB}`, fresh.backendRef], {
    timeout: 600_000,
  });
  await rest.run(`/v1/volumes/${made.id}/attach`, { vmId: vm.id });
  const target = (await rest.get(`/v1/volumes/${made.id}`)).deviceName;
  await sleep(8_000); // the writer finds the disk

  const dirOf = { [cloud.pools.qcow2]: backends.qcow2Dir, [other.id]: poolDir };
  const strata = async (to) => {
    const t0 = Date.now();
    const { job } = await rest.post(`/v1/volumes/${made.id}/migrate`, { poolId: to });
    await rest.waitJob(job, 1_800_000);
    const t1 = Date.now();
    // where the time went: each step's run, and the job's own wait before its first step
    const steps = await rest.get(`/v1/jobs/${job.id}/steps`);
    const stepsMs = Object.fromEntries(
      steps
        .filter((st) => st.phase === 'run' && st.finishedAt)
        .map((st) => [st.name, Date.parse(st.finishedAt) - Date.parse(st.startedAt)]),
    );
    const firstStart = Math.min(...steps.map((st) => Date.parse(st.startedAt)));
    const v = await rest.get(`/v1/volumes/${made.id}`);
    const records = (await readWriterLog(v.backendRef, { format: 'qcow2', maxBytes: 16 * MiB })).filter(
      (r) => r.timeUs >= (t0 - 5_000) * 1000 && r.timeUs <= (t1 + 5_000) * 1000,
    );
    return {
      who: 'strata',
      moveMs: t1 - t0,
      stallMs: longestStallMs(records),
      records: records.length,
      queuedMs: firstStart - t0,
      stepsMs,
      copy: steps.find((st) => st.name === 'copy' && st.phase === 'run')?.output,
    };
  };
  // native: the same disk into a file made beforehand in the other pool, then back (not counted)
  const native = async (from, to, n) => {
    const v = await rest.get(`/v1/volumes/${made.id}`);
    const dest = join(dirOf[to], `native-${n}.qcow2`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', dest, String(GiB)]);
    await chmod(dest, 0o666);
    const copy = (file) =>
      virsh([
        'blockcopy',
        '--domain',
        vm.id,
        '--path',
        target,
        '--dest',
        file,
        '--format',
        'qcow2',
        '--reuse-external',
        '--transient-job',
        '--wait',
        '--pivot',
      ]);
    const t0 = Date.now();
    await copy(dest);
    const moveMs = Date.now() - t0;
    await copy(v.backendRef);
    await rm(dest, { force: true });
    return { who: 'native', moveMs, from, to };
  };

  const loadStart = load();
  const record = [];
  let [x, y] = [cloud.pools.qcow2, other.id];
  for (let r = 0; r <= rounds; r++) {
    const samples = [await native(x, y, r), await strata(y)];
    for (const s of samples)
      log(
        `round ${r} ${s.who}: move ${s.moveMs} ms${s.stallMs !== undefined ? `, stall ${s.stallMs.toFixed(0)} ms` : ''}`,
      );
    record.push({ round: r, warmup: r === 0, loadavg: load(), samples });
    [x, y] = [y, x];
  }
  const measured = record.filter((r) => !r.warmup).flatMap((r) => r.samples);
  const m = (who, key) => median(measured.filter((s) => s.who === who).map((s) => s[key]));
  const metrics = {
    move_ms_strata: { value: m('strata', 'moveMs'), unit: 'ms' },
    move_ms_native: { value: m('native', 'moveMs'), unit: 'ms' },
    move_ratio_vs_native: { value: m('strata', 'moveMs') / m('native', 'moveMs'), unit: 'ratio' },
    guest_stall_ms_strata: { value: m('strata', 'stallMs'), unit: 'ms' },
    // each round's own ratio (its two moves seconds apart, under the same load), their median
    move_ratio_paired_median: {
      value: median(
        record
          .filter((r) => !r.warmup)
          .map((r) => {
            const [n, s] = ['native', 'strata'].map((w) => r.samples.find((x) => x.who === w).moveMs);
            return s / n;
          }),
      ),
      unit: 'ratio',
    },
  };
  const result = {
    name: 'disk-move',
    when: new Date().toISOString(),
    machine: `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    rounds,
    loadavg: { start: loadStart, end: load() },
    notes:
      'Tiny TCG guest writing ordered records on the moving 1 GiB qcow2 disk (1 GiB of data written before). ' +
      'Each round: native (virsh blockcopy --reuse-external --transient-job --wait --pivot into a qcow2 file ' +
      'created beforehand in the other pool directory; copied back, not counted), then Strata ' +
      '(POST /v1/volumes/{id}/migrate to the other qcow2 pool, job waited for: admission, create, grant, copy, ' +
      'pivot, QoS read-back, record, source revoked and deleted); the next round goes the other way; round 0 warms up. ' +
      "stall = longest gap between the guest writer's records (guest clock) around Strata's move. Medians.",
    metrics,
    targets: { move_at_most_1_2x_native: metrics.move_ratio_vs_native.value <= 1.2 },
    raw: record,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify({ metrics, targets: result.targets, loadavg: result.loadavg }, null, 2));
} catch (e) {
  const tail = (await readFile(join(root, 'server', 'server.log'), 'utf8').catch(() => '')).slice(-3000);
  log(`failed; the server's last lines:\n${tail}`);
  throw e;
} finally {
  if (vmId) {
    await env?.rest.run(`/v1/vms/${vmId}/stop`, { forced: true }).catch(() => undefined);
    await virsh(['undefine', vmId]).catch(() => undefined);
  }
  for (const c of children.reverse()) c.kill('SIGTERM');
  await sleep(2_000);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true }).catch(() => undefined);
  if (poolDir) await rm(poolDir, { recursive: true, force: true }).catch(() => undefined);
}
