import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildTree, renderTree, type ConnectionDetails } from '@strata/core';
import { checkOrder, mergeBySeq, type WriterRecord } from '@strata/testing';
import type { Backends } from './backends.js';
import type { Cloud, Named } from './cloud.js';
import { readDisk, type RbdExport } from './disks.js';
import { liveWriterSeq, writingThrough, type DemoHost, type WritingThrough } from './migration-check.js';
import type { Page, Rest } from './rest.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

export interface VolumeView extends Named {
  readonly poolId: string;
  readonly vmId: string | null;
  readonly type: string;
  readonly deviceName: string | null;
  readonly backendRef: string | null;
}
export interface SnapshotView extends Named {
  readonly parentId: string | null;
  readonly state: string;
  readonly consistency: string | null;
  readonly freezeMs: number | null;
  readonly cutSpreadMs: number | null;
  readonly strategy: string | null;
}
export interface TreeNode extends SnapshotView {
  readonly children: TreeNode[];
}

/** One disk of the demo VM, with what is needed to read it back. */
export interface DemoDisk {
  readonly label: string;
  readonly volume: VolumeView;
  /** How a host reads it; `initiator`: the iSCSI name of the host its VM last ran on. */
  readonly conn: (v: VolumeView, initiator: string) => ConnectionDetails | RbdExport;
  readonly kind: 'raw-records' | 'root-fs';
}

export interface DiskCheck {
  readonly label: string;
  readonly lastSeqBefore: number;
  readonly lastSeqAfterRevert: number;
  readonly records: number;
}

export interface StoryResult {
  readonly vmId: string;
  /** The libvirtd its VM runs in at the end (null: this machine's). */
  readonly hostUri: string | null;
  readonly snapshot: SnapshotView;
  readonly disks: readonly DiskCheck[];
  /** Merged over every disk after the revert: one increasing sequence, no duplicates. */
  readonly orderOk: boolean;
  /** Highest sequence number on any disk at the revert; every lower one is present somewhere. */
  readonly cutSeq: number;
  readonly missingBelowCut: number;
  readonly tree: readonly string[];
  readonly migration: MigrationCheck | null;
}

/** How every demo VM's name starts (the rest is a random suffix and metacharacters). */
export const DEMO_VM_PREFIX = 'demo vm ';

/** A VM from the tiny-guest template with a data disk on every backend, started. */
export async function buildDemoVm(
  rest: Rest,
  b: Backends,
  cloud: Cloud,
  log: (line: string) => void,
  /** The host it runs on (an admin names it); default where placement chooses. */
  on?: DemoHost,
): Promise<{ vm: Named; disks: DemoDisk[]; suffix: string }> {
  const suffix = Math.random().toString(36).slice(2, 6);
  // One job: the ROOT volume is cloned from the template in the qcow2 pool; started later.
  const { resource: vm } = await rest.run<Named>('/v1/vms/deploy', {
    name: `${DEMO_VM_PREFIX}"${suffix}" <&> $(whoami); x`,
    templateId: cloud.templateId,
    poolId: cloud.pools.qcow2,
    memoryBytes: 128 * MiB,
    start: false,
    ...(on && { hostId: on.id }),
  });
  log(`VM ${vm.id} named ${JSON.stringify(vm.name)}`);
  const rootVolume = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id, type: 'ROOT' }))
    .items[0];
  if (!rootVolume) throw new Error(`deploy left VM ${vm.id} without a ROOT volume`);
  const root = { resource: rootVolume };
  const qos = { minIops: 100, maxIops: 2000, burstIops: 4000, burstSeconds: 10 };
  const data: Array<{ label: string; pool: string }> = [
    { label: 'qcow2 file', pool: cloud.pools.qcow2 },
    { label: 'iSCSI LUN (tgt)', pool: cloud.pools.tgt },
    ...(cloud.pools.rbd ? [{ label: 'Ceph RBD', pool: cloud.pools.rbd }] : []),
  ];
  const volumes: VolumeView[] = [];
  for (const d of data) {
    const made = await rest.run<VolumeView>('/v1/volumes', {
      name: `${d.label} of ${vm.name}`,
      poolId: d.pool,
      sizeBytes: 64 * MiB,
      qos,
    });
    await rest.run(`/v1/volumes/${made.resource.id}/attach`, { vmId: vm.id });
    volumes.push(await rest.get<VolumeView>(`/v1/volumes/${made.resource.id}`));
    log(`volume on ${d.label}: ${made.resource.id}`);
  }
  log(`starting the VM${on ? ` on ${on.name}` : ''}`);
  await rest.run(`/v1/vms/${vm.id}/start`, on ? { hostId: on.id } : undefined);
  const disks: DemoDisk[] = [
    {
      label: 'root (qcow2, ext4 log)',
      volume: root.resource,
      kind: 'root-fs',
      conn: (v) => ({ adaptor: 'file', path: v.backendRef ?? '', format: 'qcow2' }),
    },
    ...volumes.map((v, i): DemoDisk => ({
      label: data[i]!.label,
      volume: v,
      kind: 'raw-records',
      conn: connectionFor(b, cloud, data[i]!.pool),
    })),
  ];
  return { vm, disks, suffix };
}

/** The live migration the story makes between its snapshot and its revert, and what it saw. */
export interface MigrationCheck {
  readonly from: string;
  readonly to: string;
  /** From the call to the job's end. */
  readonly tookMs: number;
  /** The writer's history over the migration, read back from every disk. */
  readonly through: WritingThrough;
}

export interface StoryOptions {
  readonly quiesce?: 'guest' | 'hypervisor';
  /** Run the VM on `from` and live-migrate it to `to` while it writes, after the snapshot. */
  readonly move?: { readonly from: DemoHost; readonly to: DemoHost };
}

/**
 * Live-migrates the writing VM and notes where its writer stood on each side (asked in the guest,
 * through the libvirtd that runs it): the span the disks must hold whole afterwards.
 */
async function migrateWhileWriting(rest: Rest, vmId: string, from: DemoHost, to: DemoHost) {
  const fromSeq = await liveWriterSeq(vmId, from.uri);
  const t0 = performance.now();
  const { job } = await rest.run(`/v1/vms/${vmId}/migrate`, { hostId: to.id });
  const tookMs = performance.now() - t0;
  const steps = await rest.get<
    Array<{ name: string; phase: string; startedAt: string; finishedAt: string | null }>
  >(`/v1/jobs/${job.id}/steps`);
  const stepMs = steps
    .filter((x) => x.phase === 'run' && x.finishedAt)
    .map((x) => `${x.name} ${Date.parse(x.finishedAt!) - Date.parse(x.startedAt)} ms`);
  const vm = await rest.get<{ hostId: string | null; state: string }>(`/v1/vms/${vmId}`);
  if (vm.hostId !== to.id || vm.state !== 'Running')
    throw new Error(
      `after the migration the VM is ${vm.state} on ${vm.hostId ?? 'no host'}, not on ${to.id}`,
    );
  await sleep(2_000);
  const toSeq = await liveWriterSeq(vmId, to.uri);
  return { fromSeq, toSeq, tookMs, stepMs };
}

/**
 * The main job: a VM whose disks sit on qcow2 files, an iSCSI LUN on tgtd and (when Ceph runs)
 * an RBD image, writing ordered records to all of them; one VM snapshot taken while it writes;
 * with `move`, a live migration to another KVM host while it keeps writing; the VM stopped and
 * reverted; every disk read back and checked as of the snapshot, and through the migration.
 */
export async function runStory(
  rest: Rest,
  b: Backends,
  cloud: Cloud,
  log: (line: string) => void,
  opts: StoryOptions = {},
): Promise<StoryResult> {
  const { move } = opts;
  const { vm, disks, suffix } = await buildDemoVm(rest, b, cloud, log, move?.from);
  log('waiting for the guest agent, then letting the guest write to every disk for 6 s');
  if (move) await waitForGuestAgent(vm.id, 180_000, move.from.uri);
  else await waitForGuestAgent(vm.id);
  await sleep(6_000);
  const taken = await rest.run<SnapshotView>('/v1/vm-snapshots', {
    vmId: vm.id,
    name: `before the change <${suffix}>`,
    quiesce: opts.quiesce ?? 'hypervisor',
  });
  const snap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${taken.resource.id}`);
  log(
    `VM snapshot ${snap.id}: strategy ${snap.strategy}, ${snap.consistency}-consistent, guest held ${snap.freezeMs?.toFixed(1)} ms, cut spread ${snap.cutSpreadMs?.toFixed(1)} ms`,
  );
  let moved: Awaited<ReturnType<typeof migrateWhileWriting>> | undefined;
  if (move) {
    await sleep(2_000);
    log(`live-migrating the writing VM from host ${move.from.name} to host ${move.to.name}`);
    moved = await migrateWhileWriting(rest, vm.id, move.from, move.to);
    log(`migrated in ${moved.tookMs.toFixed(0)} ms (${moved.stepMs.join(', ')})`);
    log(`the writer went from #${moved.fromSeq} to #${moved.toSeq}`);
  } else {
    log('the guest keeps writing; waiting 4 s, then stopping the VM');
    await sleep(4_000);
  }
  await rest.run(`/v1/vms/${vm.id}/stop`);
  const before = await readAll(rest, disks);
  const migration = moved &&
    move && {
      from: move.from.id,
      to: move.to.id,
      tookMs: moved.tookMs,
      // the record the guest was writing when asked may not have reached a disk yet
      through: writingThrough(mergeBySeq(...before.values()), moved.fromSeq, moved.toSeq - 1),
    };
  if (migration)
    log(
      `through the migration: writes #${migration.through.fromSeq}..#${migration.through.toSeq}, ${migration.through.missing} missing, longest gap ${migration.through.longestGapMs.toFixed(0)} ms (guest clock)`,
    );
  log('reverting the VM to the snapshot');
  await rest.run(`/v1/vm-snapshots/${snap.id}/revert`);
  const after = await readAll(rest, disks);
  const merged = mergeBySeq(...after.values());
  const order = checkOrder(merged);
  const cutSeq = order.last;
  const checks = disks.map((d) => ({
    label: d.label,
    lastSeqBefore: before.get(d.label)?.at(-1)?.seq ?? 0,
    lastSeqAfterRevert: after.get(d.label)?.at(-1)?.seq ?? 0,
    records: after.get(d.label)?.length ?? 0,
  }));
  for (const c of checks)
    log(`  ${c.label}: last write ${c.lastSeqBefore} before the revert, ${c.lastSeqAfterRevert} after`);
  log(
    `cross-disk order ${order.ok ? 'kept' : 'BROKEN'}; writes up to #${cutSeq} present, ${order.missing.length} missing below it`,
  );
  await rest.run(`/v1/vms/${vm.id}/start`, move ? { hostId: move.to.id } : undefined);
  const tree = await rest.get<{ currentId: string | null; roots: TreeNode[] }>(
    `/v1/vms/${vm.id}/snapshot-tree`,
  );
  const lines = renderTree(
    buildTree(flatten(tree.roots)),
    (n) => `${n.name} (${n.state}, ${n.consistency ?? '?'}, held ${n.freezeMs?.toFixed(1) ?? '?'} ms)`,
    tree.currentId,
  );
  log('snapshot tree:');
  for (const l of lines) log(`  ${l}`);
  return {
    vmId: vm.id,
    hostUri: move?.to.uri ?? null,
    snapshot: snap,
    disks: checks,
    orderOk: order.ok,
    cutSeq,
    missingBelowCut: order.missing.length,
    tree: lines,
    migration: migration ?? null,
  };
}

/**
 * The guest agent answers once the tiny guest has booted (seconds under TCG). Asked through
 * libvirt's own guest-info call on this machine (or the libvirtd at `uri`: a test KVM host's),
 * which does not taint the domain.
 */
export async function waitForGuestAgent(
  domain: string,
  timeoutMs = 180_000,
  uri = 'qemu:///system',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run('virsh', ['-c', uri, 'guestinfo', '--hostname', domain], { timeout: 10_000 });
      return;
    } catch (e) {
      if (Date.now() > end)
        throw new Error(`the guest agent of ${domain} did not answer within ${timeoutMs} ms`, { cause: e });
      await sleep(500);
    }
  }
}

export function flatten(nodes: readonly TreeNode[]): SnapshotView[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}

export async function readAll(rest: Rest, disks: readonly DemoDisk[]): Promise<Map<string, WriterRecord[]>> {
  const out = new Map<string, WriterRecord[]>();
  for (const d of disks) {
    const v = await rest.get<VolumeView>(`/v1/volumes/${d.volume.id}`);
    out.set(d.label, await readDisk(d.conn(v, await initiatorOf(rest, v.vmId)), d.kind));
  }
  return out;
}

/** The iSCSI name of the host a VM last ran on (its LUNs are open to that host only). */
async function initiatorOf(rest: Rest, vmId: string | null): Promise<string> {
  const vm = vmId ? await rest.get<{ hostId: string | null }>(`/v1/vms/${vmId}`) : null;
  if (!vm?.hostId) return '';
  return (await rest.get<{ iscsiInitiator: string | null }>(`/v1/hosts/${vm.hostId}`)).iscsiInitiator ?? '';
}

/** How the demo reads a data volume back: as the host sees it. */
function connectionFor(b: Backends, cloud: Cloud, poolId: string): DemoDisk['conn'] {
  if (poolId === cloud.pools.qcow2)
    return (v) => ({ adaptor: 'file', path: v.backendRef ?? '', format: 'qcow2' });
  if (poolId === cloud.pools.tgt) {
    return (v, initiator) => {
      const [iqn, lun] = (v.backendRef ?? '').split('/');
      return {
        adaptor: 'iscsi',
        portal: b.tgtPortal,
        iqn: iqn ?? '',
        lun: Number(lun ?? 1),
        initiator: initiator || (cloud.host.iscsiInitiator ?? ''),
      };
    };
  }
  return (v) => ({
    adaptor: 'rbd-export',
    spec: v.backendRef ?? '',
    confPath: b.ceph?.confPath ?? '',
    keyringPath: b.ceph?.adminKeyringPath ?? '',
  });
}
