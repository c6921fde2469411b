#!/usr/bin/env node
// bench/migration: Strata's live migration (POST /v1/vms/{id}/migrate, job waited for) side by
// side with plain `virsh migrate --live` (the flags and destination definition Strata's agent
// uses) of the same running VM between the same two KVM hosts, in the same run: total time, and
// the guest writer's longest stall. Interleaved rounds, medians. Run by hand (never by CI):
//   npx tsc -b && node bench/migration/run.mjs [rounds]
// Writes bench/results/migration.json. See bench/migration/README.md.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { addKvmHost, bringUp } from '@strata/demo';
import { waitForGuestAgent } from '@strata/demo/story';
import { networkSources, virshAt } from './native.mjs';
import { median } from './records.mjs';
import { sample } from './sample.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'migration.json');
// Checked before anything starts: a typo would otherwise cost a bring-up and write NaN results.
const rounds = Number(process.argv[2] ?? 5);
if (process.argv.length > 3 || !Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  console.error(
    `bench/migration: usage: run.mjs [rounds], rounds an integer from 1 to 100, not "${process.argv.slice(2).join(' ')}"`,
  );
  process.exit(2);
}
const MiB = 1024 ** 2;
// What addKvmHost tells each host's agent (STRATA_AGENT_MIGRATION_DATA_URI): QEMU's data over loopback.
const MIGRATE_URI = 'tcp://127.0.0.1';
const log = (line) => console.error(`[bench] ${new Date().toISOString().slice(11, 23)} ${line}`);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

const root = await mkdtemp('/var/tmp/strata-bench-migration-');
await chmod(root, 0o755); // QEMU runs as its own user: it walks down to the pools under the root
// the server's hold hook (a test hook, packages/server/src/jobs/fault.ts): see bothGranted below
const holdFile = join(root, 'fault-hold');
process.env.STRATA_FAULT_HOLD_FILE = holdFile;
const children = [];
const hosts = [];
let env;
let vmId;
try {
  const port = 26_000 + Math.floor(Math.random() * 1000);
  env = await bringUp({
    root,
    port,
    agentPort: port + 1000,
    detached: false,
    log,
    track: (c) => children.push(c),
  });
  const { rest, cloud } = env;
  const sfx = Math.random().toString(36).slice(2, 6);
  for (const name of [`mig-a-${sfx}`, `mig-b-${sfx}`])
    hosts.push(await addKvmHost(env, { name, track: (c) => children.push(c) }));
  const [a, b] = hosts.map((h) => ({ id: h.id, name: h.name, uri: h.host.uri }));
  log(`hosts ${a.name} (${a.id}) and ${b.name} (${b.id}) are Up`);

  // The VM of hosts.int: a qcow2 ROOT on the shared pool, a tgt LUN and an RBD image.
  const { resource: vm } = await rest.run('/v1/vms/deploy', {
    name: `bench migration ${sfx}`,
    templateId: cloud.templateId,
    poolId: cloud.pools.qcow2,
    memoryBytes: 128 * MiB,
    hostId: a.id,
    start: false,
  });
  vmId = vm.id;
  const attach = async (poolId, what) => {
    const made = await rest.run('/v1/volumes', { name: `${what} of ${vm.id}`, poolId, sizeBytes: 64 * MiB });
    await rest.run(`/v1/volumes/${made.resource.id}/attach`, { vmId: vm.id });
    return made.resource.id;
  };
  const lunId = await attach(cloud.pools.tgt, 'lun');
  const rbdId = cloud.pools.rbd ? await attach(cloud.pools.rbd, 'rbd') : null;
  if (!rbdId) log(`no RBD disk: ${env.backends.cephSkipped}`);

  // Native needs both hosts granted, and Strata grants only the host a VM runs on (a migration's
  // destination until it revokes the source). So each round starts with a Strata migration whose
  // revoke of the source (the vm.revoke-source job its record queues) is held before it runs (the
  // server's hold hook, STRATA_FAULT_HOLD_FILE): the VM runs on the destination, both hosts hold
  // Strata's own grants and secrets, and native migrates there and back; then the revoke is let go.
  // That migration is not measured.
  const sources = new Map();
  const readSources = async (h) => sources.set(h.id, await networkSources(h.uri, vm.id));
  const bothGranted = async (from, to) => {
    await rm(`${holdFile}.held`, { force: true });
    await writeFile(holdFile, 'vm.revoke-source:revoke:before\n');
    const { job } = await rest.post(`/v1/vms/${vm.id}/migrate`, { hostId: to.id });
    for (const end = Date.now() + 300_000; !existsSync(`${holdFile}.held`); await sleep(100)) {
      const seen = await rest.get(`/v1/jobs/${job.id}`);
      if (seen.state === 'Failed' || Date.now() > end)
        throw new Error(`the setup migration ended ${seen.state} before its source was revoked`);
    }
    await rest.waitJob(job);
    const record = (await rest.get(`/v1/jobs/${job.id}/steps`)).find((s) => s.name === 'record');
    await readSources(to);
    return async () => {
      await rm(holdFile, { force: true });
      await rest.waitJob({ id: record.output.revokeJobId });
    };
  };
  await rest.run(`/v1/vms/${vm.id}/start`, { hostId: a.id });
  await waitForGuestAgent(vm.id, 180_000, a.uri);
  await sleep(5_000); // let the fresh boot settle into its writing
  const ctx = {
    rest,
    vmId: vm.id,
    lunPath: join(env.backends.tgtDir, 'volumes', `${lunId}.raw`),
    sources,
    unsafe: true, // the ROOT is on a cluster-scope qcow2 pool: Strata's agent passes --unsafe too
    migrateUri: MIGRATE_URI,
  };

  const loadStart = load();
  log(`load at start ${loadStart.join(' ')}`);
  // Round 0 warms up. Each round, the VM on x: the held setup migration to y, native y -> x and
  // x -> y, the setup let go (x revoked), then Strata y -> x and x -> y; the next round starts on y.
  const record = [];
  let [x, y] = [a, b];
  for (let r = 0; r <= rounds; r++) {
    const samples = [];
    await readSources(x);
    const release = await bothGranted(x, y);
    for (const [who, from, to] of [
      ['native', y, x],
      ['native', x, y],
      ['release'],
      ['strata', y, x],
      ['strata', x, y],
    ]) {
      if (who === 'release') {
        await release();
        continue;
      }
      const s = await sample(who, ctx, from, to);
      samples.push(s);
      log(
        `round ${r} ${who} ${from.name} -> ${to.name}: total ${s.totalMs.toFixed(0)} ms, stall ${s.stallMs.toFixed(0)} ms ` +
          `(guest clock ${s.guestClockStallMs.toFixed(0)} ms, clock lost ${s.guestClockLostMs.toFixed(0)} ms, normal gap ${s.normalGapMs.toFixed(0)} ms)`,
      );
    }
    record.push({ round: r, warmup: r === 0, loadavg: load(), samples });
    [x, y] = [y, x];
  }
  const loadEnd = load();

  const measured = record.filter((r) => !r.warmup).flatMap((r) => r.samples);
  const m = (who, key) => median(measured.filter((s) => s.who === who).map((s) => s[key]));
  const metrics = {
    stall_ms_strata: { value: m('strata', 'stallMs'), unit: 'ms' },
    stall_ms_native: { value: m('native', 'stallMs'), unit: 'ms' },
    stall_ratio_vs_native: { value: m('strata', 'stallMs') / m('native', 'stallMs'), unit: 'ratio' },
    total_ms_strata: { value: m('strata', 'totalMs'), unit: 'ms' },
    total_ms_native: { value: m('native', 'totalMs'), unit: 'ms' },
    // context for reading the above
    total_minus_native_ms: { value: m('strata', 'totalMs') - m('native', 'totalMs'), unit: 'ms' },
    stall_ms_guest_clock_strata: { value: m('strata', 'guestClockStallMs'), unit: 'ms' },
    stall_ms_guest_clock_native: { value: m('native', 'guestClockStallMs'), unit: 'ms' },
    guest_clock_lost_ms_strata: { value: m('strata', 'guestClockLostMs'), unit: 'ms' },
    guest_clock_lost_ms_native: { value: m('native', 'guestClockLostMs'), unit: 'ms' },
    writer_normal_gap_ms: { value: median(measured.map((s) => s.normalGapMs)), unit: 'ms' },
    strata_agent_migrate_ms: { value: m('strata', 'agentMigrateMs'), unit: 'ms' },
    stall_ms_strata_migrate_step: { value: m('strata', 'stallInMigrateStepMs'), unit: 'ms' },
    // the source's revoke, after the caller's answer (its own job)
    strata_revoke_after_ms: { value: m('strata', 'revokeAfterMs'), unit: 'ms' },
    strata_revoke_done_after_call_ms: { value: m('strata', 'revokeDoneAfterCallMs'), unit: 'ms' },
  };
  for (const step of ['plan', 'grant-destination', 'migrate', 'confirm', 'record'])
    metrics[`strata_step_${step.replace('-', '_')}_ms`] = {
      value: median(measured.filter((s) => s.who === 'strata').map((s) => s.stepMs[step])),
      unit: 'ms',
    };
  const v = (k) => metrics[k].value;
  const targets = {
    stall_at_most_1_2x_native: v('stall_ratio_vs_native') <= 1.2,
    total_at_most_native_plus_1s: v('total_ms_strata') <= v('total_ms_native') + 1000,
  };
  const result = {
    name: 'migration',
    when: new Date().toISOString(),
    machine: `${hostname()} ${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    rounds,
    loadavg: { start: loadStart, end: loadEnd },
    disks: {
      root: 'qcow2 (cluster-scope pool dir both hosts mount)',
      lun: 'tgt (libiscsi)',
      rbd: rbdId ? 'ceph rbd' : `none: ${env.backends.cephSkipped}`,
    },
    notes:
      'Tiny TCG guest, 128 MiB; one VM, two KVM hosts on this machine (own libvirtd each, own mount namespace), ' +
      'memory over tcp://127.0.0.1. Each round, the VM on x: a Strata migration to y whose revoke of x (its own ' +
      'job, vm.revoke-source) is held (both hosts granted; not measured), native y->x and x->y, the hold let go, ' +
      'Strata y->x and x->y, each waiting for the previous revoke job to end first; ' +
      'the next round starts on y; round 0 warms up. ' +
      'total = Strata: REST POST to the vm.migrate job done as the client sees it (the source revoke after it ' +
      'is strata_revoke_*); native: the virsh migrate process. ' +
      "stall = longest gap, in host time, between consecutive writer records arriving on the LUN's backing file " +
      '(polled every 5 ms) that overlaps the migration; the guest clock stops while the guest is paused, so ' +
      "gaps in the guest's own timestamps (stall_ms_guest_clock_*) miss the pause (guest_clock_lost_ms_*). Medians.",
    metrics,
    targets,
    raw: record,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify({ metrics, targets, loadavg: result.loadavg }, null, 2));
} catch (e) {
  for (const h of hosts) log(`--- agent log of ${h.name} ---\n${await h.agentLog()}`);
  const tail = (await readFile(join(root, 'server', 'server.log'), 'utf8').catch(() => '')).slice(-3000);
  log(`failed; the server's last lines:\n${tail}`);
  throw e;
} finally {
  if (vmId) {
    await env?.rest.run(`/v1/vms/${vmId}/stop`, { forced: true }).catch(() => undefined);
    for (const h of hosts) {
      await virshAt(h.host.uri, ['destroy', vmId]).catch(() => undefined);
      await virshAt(h.host.uri, ['undefine', vmId]).catch(() => undefined);
    }
  }
  for (const h of hosts) await h.stop().catch(() => undefined);
  for (const c of children.reverse()) c.kill('SIGTERM');
  await sleep(2_000);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true }).catch(() => undefined);
}
