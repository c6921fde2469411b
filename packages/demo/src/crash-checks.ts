import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CrashEnv } from './crash-env.js';
import type { JobView, Page, Rest } from './rest.js';
import { flatten, waitForGuestAgent, type SnapshotView, type TreeNode, type VolumeView } from './story.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

const MACHINE_URI = 'qemu:///system';

/** virsh against the libvirtd at `uri` (a test KVM host's, or this machine's). */
const virshAt = async (uri: string, ...args: string[]) =>
  (await run('virsh', ['-c', uri, ...args], { timeout: 30_000 })).stdout.trim();

/** Waits until a job is Succeeded or Failed (the server may be restarting meanwhile). */
export async function waitJobEnd(rest: Rest, jobId: string, timeoutMs = 240_000): Promise<JobView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await rest.get<JobView>(`/v1/jobs/${jobId}`, { wait: 5 }).catch(() => null);
    if (j && (j.state === 'Succeeded' || j.state === 'Failed')) return j;
    if (Date.now() > end)
      throw new Error(`job ${jobId} still ${j?.state ?? 'unreadable'} after ${timeoutMs} ms`);
    if (!j) await sleep(500);
  }
}

/** The guest's filesystem freeze state through its agent: 'frozen', 'thawed', or 'unknown'. */
export async function fsfreezeStatus(vm: string, uri = MACHINE_URI): Promise<string> {
  try {
    const out = await virshAt(uri, 'qemu-agent-command', vm, '{"execute":"guest-fsfreeze-status"}');
    return (JSON.parse(out) as { return: string }).return;
  } catch {
    return 'unknown';
  }
}

export async function domState(vm: string, uri = MACHINE_URI): Promise<string> {
  return virshAt(uri, 'domstate', vm).catch(() => 'absent');
}

/** Disk target → source of a running domain, as libvirt says it runs. */
export async function domblklist(vm: string, uri: string): Promise<Map<string, string>> {
  const out = await virshAt(uri, 'domblklist', vm);
  const map = new Map<string, string>();
  for (const line of out.split('\n').slice(2)) {
    const [target, source] = line.trim().split(/\s+/);
    if (target && source) map.set(target, source);
  }
  return map;
}

const rbdArgs = (cx: CrashEnv) => [
  '--conf',
  cx.backends.ceph?.confPath ?? '',
  '--keyring',
  cx.backends.ceph?.adminKeyringPath ?? '',
  '--id',
  'admin',
];

async function rbdOk(cx: CrashEnv, args: string[]): Promise<string | null> {
  try {
    return (await run('rbd', [...rbdArgs(cx), ...args], { timeout: 60_000 })).stdout;
  } catch {
    return null;
  }
}

/** Whether a volume's recorded backend reference names something its backend really holds. */
export async function volumeExists(cx: CrashEnv, v: VolumeView): Promise<boolean> {
  const ref = v.backendRef ?? '';
  if (v.poolId === cx.cloud.pools.qcow2) return exists(ref);
  if (v.poolId === cx.cloud.pools.tgt) {
    // A storage node's listing grows with every LUN it serves (about 1 KiB each).
    const port = cx.tgtControlPort !== undefined ? ['-C', String(cx.tgtControlPort)] : [];
    const show = [...port, '--lld', 'iscsi', '--mode', 'target', '--op', 'show'];
    const targets = (await run('tgtadm', show, { maxBuffer: 256 * 1024 * 1024 })).stdout;
    return (
      (await exists(join(cx.tgtDir, 'volumes', `${v.id}.raw`))) && targets.includes(ref.split('/')[0] ?? '?')
    );
  }
  return (await rbdOk(cx, ['info', ref])) !== null;
}

/** Whether one part of a VM snapshot is on its backend (rbd group listings cached per check). */
async function partExists(
  cx: CrashEnv,
  poolId: string,
  ref: string,
  groups: Map<string, Promise<string[]>>,
): Promise<boolean> {
  if (poolId === cx.cloud.pools.qcow2) return exists(ref);
  if (poolId === cx.cloud.pools.tgt) return exists(join(cx.tgtDir, 'snapshots', `${ref}.raw`));
  const [group = '', snap] = ref.split('@');
  let listed = groups.get(group);
  if (!listed) {
    listed = rbdOk(cx, ['group', 'snap', 'ls', '--format', 'json', group]).then((out) =>
      (JSON.parse(out || '[]') as Array<{ snapshot: string }>).map((s) => s.snapshot),
    );
    groups.set(group, listed);
  }
  return (await listed).includes(snap ?? '');
}

/**
 * The collector's findings. A restarted server may still list a host Up from its previous life
 * while that host's agent reconnects: a warning that no agent of a pool's cluster is Up is read
 * again for up to a minute, until the agent is back.
 */
async function readOrphans(rest: Rest): Promise<Orphans> {
  const end = Date.now() + 60_000;
  for (;;) {
    const found = await rest.get<Orphans>('/v1/orphans');
    if (!found.warnings.some((w) => /no host agent of its cluster is Up/.test(w)) || Date.now() > end)
      return found;
    await sleep(1_000);
  }
}

/** Waits until every host the server knows is Up (or in Maintenance); past the timeout, goes on (the checks then say why). */
export async function waitHostsUp(rest: Rest, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hosts = await rest.get<Page<{ state: string }>>('/v1/hosts').catch(() => null);
    // a host in maintenance is settled too (its agent is back; it only takes no VMs)
    if (hosts && hosts.items.every((h) => h.state === 'Up' || h.state === 'Maintenance')) return;
    await sleep(500);
  }
}

export type Orphans = { orphans: Array<{ kind: string; ref: string; reason: string }>; warnings: string[] };

/**
 * Issue 4's crash-safety invariants for one VM, as problems found (empty when all hold): no guest
 * frozen or paused; the collector finds no orphan; every volume's backend reference exists and is
 * the disk the domain runs; every Ready snapshot's parts exist; the tree and its current pointer
 * are sane and no snapshot is left in a transitional state.
 */
export async function invariantProblems(cx: CrashEnv, vmId: string): Promise<string[]> {
  const rest = cx.env.rest;
  const problems: string[] = [];
  // The collector judges a pool's files through an agent that serves them: after a restart, wait
  // for the agents to be back (a busy machine may take longer than the job did to end).
  await waitHostsUp(rest, 90_000);
  // The collector's scan is the slowest part (backend CLIs): it runs while the rest is checked.
  const orphansRead = readOrphans(rest);
  orphansRead.catch(() => undefined);
  const vm = await rest.get<{ state: string }>(`/v1/vms/${vmId}`);
  const uri = await cx.uriOf(vmId);
  const dom = await domState(vmId, uri);
  if (dom === 'paused') problems.push('the guest is paused');
  // the VM is on one host only, the one the database names: no other runs it or keeps a
  // definition of it (a stale one would refuse its next migration there, or be started by hand)
  for (const other of cx.uris.filter((u) => u !== uri)) {
    const there = await domState(vmId, other);
    if (there !== 'absent')
      problems.push(`the VM is ${there} on ${other} too, a host the database does not name`);
  }
  if (vm.state === 'Running') {
    if (dom !== 'running') problems.push(`the VM is Running in the database but libvirt says ${dom}`);
    let freeze = await fsfreezeStatus(vmId, uri);
    if (freeze === 'unknown') {
      // A VM the job just restarted is still booting: its guest agent answers shortly.
      await waitForGuestAgent(vmId, 120_000, uri).catch(() => undefined);
      freeze = await fsfreezeStatus(vmId, uri);
    }
    if (freeze !== 'thawed') problems.push(`the guest's filesystems are ${freeze}`);
  } else if (dom === 'running') problems.push(`the VM is ${vm.state} in the database but runs`);

  const volumes = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId })).items;
  const live = vm.state === 'Running' ? await domblklist(vmId, uri) : null;
  for (const v of volumes) {
    if (!(await volumeExists(cx, v))) problems.push(`volume ${v.id}: ${v.backendRef} is not on its backend`);
    const source = live?.get(v.deviceName ?? '');
    if (live && source !== v.backendRef)
      problems.push(
        `volume ${v.id} (${v.deviceName}): the domain runs ${source}, the database says ${v.backendRef}`,
      );
  }
  const pools = new Map(volumes.map((v) => [v.id, v.poolId]));
  const groups = new Map<string, Promise<string[]>>();

  const snaps = (
    await rest.get<Page<SnapshotView & { current: boolean }>>('/v1/vm-snapshots', { vmId, limit: 500 })
  ).items;
  const checkParts = async (s: SnapshotView) => {
    const parts = (
      await rest.get<Page<{ volumeId: string; backendRef: string | null; state: string }>>(
        '/v1/volume-snapshots',
        {
          vmSnapshotId: s.id,
          state: 'Ready',
        },
      )
    ).items;
    if (parts.length !== volumes.length)
      problems.push(`snapshot ${s.id} has ${parts.length} parts for ${volumes.length} disks`);
    for (const p of parts) {
      const pool = pools.get(p.volumeId);
      if (!pool || !(await partExists(cx, pool, p.backendRef ?? '', groups)))
        problems.push(`snapshot ${s.id}: part ${p.backendRef} of volume ${p.volumeId} is not on its backend`);
    }
  };
  for (const s of snaps)
    if (!['Ready', 'Error', 'Removed', 'Hidden'].includes(s.state))
      problems.push(`snapshot ${s.id} is left ${s.state}`);
  await Promise.all(snaps.filter((s) => s.state === 'Ready').map(checkParts));
  const tree = await rest.get<{ currentId: string | null; roots: TreeNode[] }>(
    `/v1/vms/${vmId}/snapshot-tree`,
  );
  const nodes = flatten(tree.roots);
  const ids = new Set(nodes.map((n) => n.id));
  for (const s of snaps.filter((x) => x.state === 'Ready'))
    if (!ids.has(s.id)) problems.push(`Ready snapshot ${s.id} is missing from the tree`);
  for (const n of nodes)
    if (n.parentId && !ids.has(n.parentId)) problems.push(`tree node ${n.id} names a parent not in the tree`);
  if (tree.currentId !== null && !nodes.some((n) => n.id === tree.currentId && n.state === 'Ready'))
    problems.push(`the current pointer ${tree.currentId} is not a Ready node of the tree`);
  const orphans = await orphansRead;
  for (const o of orphans.orphans) problems.push(`orphan ${o.kind} ${o.ref}: ${o.reason}`);
  for (const w of orphans.warnings) problems.push(`collector warning: ${w}`);
  return problems;
}
