import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { domState, invariantProblems, waitHostsUp, waitJobEnd } from './crash-checks.js';
import { CRASH_RBD_POOL, crashEnvironment, type CrashEnv } from './crash-env.js';
import type { CrashPoint } from './crash-run.js';
import { tgtTargetOf } from './fence-checks.js';
import type { JoinedKvmHost } from './kvm-hosts.js';
import type { Accepted, JobView } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type DemoDisk } from './story.js';

const FENCE = 'host.fence';
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every boundary of the fence's steps (wait-lost only reads; mark-fencing and mark-fenced are
 * transactional, so their `before` is the `after` of the step before). CI visits two: before
 * fence-storage (the job journaled, nothing cut off yet) and after mark-fenced (its last commit);
 * STRATA_CRASH_SWEEP=all visits every one, STRATA_CRASH_FENCE=<step>:<boundary>,... the ones named.
 */
const ALL: readonly CrashPoint[] = [
  ['wait-lost', 'before'],
  ['wait-lost', 'after'],
  ['mark-fencing', 'after'],
  ['fence-storage', 'before'],
  ['fence-storage', 'after'],
  ['mark-fenced', 'after'],
];
const CI: readonly CrashPoint[] = [
  ['fence-storage', 'before'],
  ['mark-fenced', 'after'],
];

function pointsToVisit(env: NodeJS.ProcessEnv = process.env): readonly CrashPoint[] {
  if (env['STRATA_CRASH_SWEEP'] === 'all') return ALL;
  const named = env['STRATA_CRASH_FENCE'];
  if (!named) return CI;
  return named.split(',').map((p) => {
    const found = ALL.find(([s, b]) => `${s}:${b}` === p.trim());
    if (!found)
      throw new Error(`STRATA_CRASH_FENCE: ${p} is none of ${ALL.map((x) => x.join(':')).join(', ')}`);
    return found;
  });
}

/** cephx users whose OSD caps open the image (its header object): the hosts granted it. */
async function holdersOf(cx: CrashEnv, volumeId: string): Promise<string[]> {
  const c = cx.backends.ceph;
  if (!c) return [];
  const admin = ['--conf', c.confPath, '--keyring', c.adminKeyringPath, '--id', 'admin'];
  const info = JSON.parse(
    (await run('rbd', [...admin, 'info', '--format', 'json', `${CRASH_RBD_POOL}/vol-${volumeId}`])).stdout,
  ) as { id: string };
  const users = JSON.parse((await run('ceph', [...admin, 'auth', 'ls', '--format', 'json'])).stdout) as {
    auth_dump: Array<{ entity: string; caps?: { osd?: string } }>;
  };
  return users.auth_dump
    .filter((u) => (u.caps?.osd ?? '').includes(`rbd_header.${info.id}`))
    .map((u) => u.entity);
}

async function waitHostState(cx: CrashEnv, hostId: string, state: string, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const h = await cx.env.rest.get<{ state: string }>(`/v1/hosts/${hostId}`).catch(() => null);
    if (h?.state === state) return;
    if (Date.now() > end) throw new Error(`host ${hostId} is ${h?.state}, not ${state}`);
    await sleep(500);
  }
}

/** The lost host powers off: its agent and the VM's QEMU die (libvirtd keeps its definition). */
async function powerOff(host: JoinedKvmHost, vmId: string): Promise<void> {
  host.killAgent();
  const pid = (await host.host.exec('cat', [`/run/libvirt/qemu/${vmId}.pid`])).stdout.trim();
  process.kill(Number(pid), 'SIGKILL');
  for (let i = 0; i < 60 && (await domState(vmId, host.host.uri)) === 'running'; i++) await sleep(500);
}

// Issue 20: crash safety of host.fence. The VM (qcow2 ROOT, a tgt LUN, an RBD image) runs on one
// KVM host; that host is lost (its agent and the VM's QEMU killed), a fence is asked for it and
// the server is SIGKILLed at a boundary of the fence's steps, then started again (the lost host's
// agent stays down). After each: the job ended; the host is Fenced; it holds no grant (no tgt ACL
// for its initiator, no cephx user with caps on the image); the VM is Stopped in the database and
// runs nowhere. Then it starts on the other host, runs there only, the lost host comes back (its
// stale definition destroyed) and every crash invariant holds; the next case loses that host.
test(
  'crash safety: a lost host fenced, the server killed at the fence step boundaries',
  { timeout: 2_400_000 },
  async (t) => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    let cx: CrashEnv | undefined;
    const vms: string[] = [];
    let failed = true;
    try {
      cx = await crashEnvironment(log);
      const env = cx;
      const rest = env.env.rest;
      const { vm, disks } = await buildDemoVm(rest, env.backends, env.cloud, log, env.vmHost);
      vms.push(vm.id);
      const volumeOf = (label: string): DemoDisk | undefined => disks.find((d) => d.label === label);
      const lun = volumeOf('iSCSI LUN (tgt)')!.volume.id;
      const image = volumeOf('Ceph RBD')?.volume.id;
      const points = pointsToVisit();
      t.diagnostic(`fence crash points: ${points.map((p) => p.join(':')).join(', ')} of ${ALL.length}`);
      for (const [step, boundary] of points) {
        const point = `${FENCE}:${step}:${boundary}`;
        const hostId = (await rest.get<{ hostId: string }>(`/v1/vms/${vm.id}`)).hostId;
        const lost = env.kvm.find((k) => k.id === hostId)!;
        const other = env.kvm.find((k) => k.id !== hostId)!;
        await waitForGuestAgent(vm.id, 180_000, lost.host.uri);
        await env.restartServer(point);
        await waitHostsUp(rest, 90_000);
        await powerOff(lost, vm.id);
        await waitHostState(env, lost.id, 'Disconnected');
        const asked = await rest.post<Accepted<unknown>>(`/v1/hosts/${lost.id}/fence`);
        const exit = await env.serverExited(240_000).catch(() => undefined);
        await env.restartServer();
        const job: JobView = await waitJobEnd(rest, asked.job.id, 300_000);
        const problems: string[] = [];
        if (exit !== 'SIGKILL') problems.push(`the server did not die at ${point} (${String(exit)})`);
        if (job.state !== 'Succeeded') problems.push(`the fence ended ${job.state} ${job.error?.code ?? ''}`);
        const host = await rest.get<{ state: string }>(`/v1/hosts/${lost.id}`);
        if (host.state !== 'Fenced') problems.push(`the lost host is ${host.state}, not Fenced`);
        const acls = (await tgtTargetOf(lun))?.acls ?? [];
        if (acls.includes(lost.host.initiatorName))
          problems.push(`tgt still lets the lost host in: ${acls.join(' ')}`);
        if (image && (await holdersOf(env, image)).length > 0)
          problems.push(`cephx users still open the image: ${(await holdersOf(env, image)).join(' ')}`);
        const row = await rest.get<{ state: string }>(`/v1/vms/${vm.id}`);
        if (row.state !== 'Stopped') problems.push(`the VM is ${row.state} in the database, not Stopped`);
        for (const k of env.kvm)
          if ((await domState(vm.id, k.host.uri)) === 'running') problems.push(`the VM runs on ${k.name}`);
        // Started again on the other host; the lost one comes back and is readmitted.
        await rest.run(`/v1/vms/${vm.id}/start`, { hostId: other.id });
        lost.startAgent();
        await waitHostState(env, lost.id, 'Up', 180_000);
        problems.push(...(await invariantProblems(env, vm.id)));
        const back = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
        if (back.state !== 'Running' || back.hostId !== other.id)
          problems.push(`after the restart the VM is ${back.state} on ${back.hostId}`);
        t.diagnostic(
          `${point}: job ${job.state}; ${problems.length ? problems.join('; ') : 'all invariants hold'}`,
        );
        assert.deepEqual(problems, [], point);
      }
      failed = false;
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- log ---\n${lines.join('\n')}\n--- server ---\n${await cx?.tail()}\n(files kept in ${cx?.root})`,
        { cause: e },
      );
    } finally {
      await cx?.close(vms, failed);
    }
  },
);
