import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildTree, renderTree, type ConnectionDetails } from '@strata/core';
import { checkOrder, mergeBySeq, type WriterRecord } from '@strata/testing';
import type { Backends } from './backends.js';
import type { Cloud, Named } from './cloud.js';
import { readDisk, type RbdExport } from './disks.js';
import type { Page, Rest } from './rest.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

export interface VolumeView extends Named {
  readonly poolId: string;
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
  readonly conn: (v: VolumeView) => ConnectionDetails | RbdExport;
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
  readonly snapshot: SnapshotView;
  readonly disks: readonly DiskCheck[];
  /** Merged over every disk after the revert: one increasing sequence, no duplicates. */
  readonly orderOk: boolean;
  /** Highest sequence number on any disk at the revert; every lower one is present somewhere. */
  readonly cutSeq: number;
  readonly missingBelowCut: number;
  readonly tree: readonly string[];
}

/** How every demo VM's name starts (the rest is a random suffix and metacharacters). */
export const DEMO_VM_PREFIX = 'demo vm ';

/** A VM from the tiny-guest template with a data disk on every backend, started. */
export async function buildDemoVm(
  rest: Rest,
  b: Backends,
  cloud: Cloud,
  log: (line: string) => void,
): Promise<{ vm: Named; disks: DemoDisk[]; suffix: string }> {
  const suffix = Math.random().toString(36).slice(2, 6);
  // One job: the ROOT volume is cloned from the template in the qcow2 pool; started later.
  const { resource: vm } = await rest.run<Named>('/v1/vms/deploy', {
    name: `${DEMO_VM_PREFIX}"${suffix}" <&> $(whoami); x`,
    templateId: cloud.templateId,
    poolId: cloud.pools.qcow2,
    memoryBytes: 128 * MiB,
    start: false,
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
  log('starting the VM');
  await rest.run(`/v1/vms/${vm.id}/start`);
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

/**
 * The main job: a VM whose disks sit on qcow2 files, an iSCSI LUN on tgtd and (when Ceph runs)
 * an RBD image, writing ordered records to all of them; one VM snapshot taken while it writes;
 * more writes; the VM stopped and reverted; every disk read back and checked as of the snapshot.
 */
export async function runStory(
  rest: Rest,
  b: Backends,
  cloud: Cloud,
  log: (line: string) => void,
  quiesce: 'guest' | 'hypervisor' = 'hypervisor',
): Promise<StoryResult> {
  const { vm, disks, suffix } = await buildDemoVm(rest, b, cloud, log);
  log('waiting for the guest agent, then letting the guest write to every disk for 6 s');
  await waitForGuestAgent(vm.id);
  await sleep(6_000);
  const taken = await rest.run<SnapshotView>('/v1/vm-snapshots', {
    vmId: vm.id,
    name: `before the change <${suffix}>`,
    quiesce,
  });
  const snap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${taken.resource.id}`);
  log(
    `VM snapshot ${snap.id}: strategy ${snap.strategy}, ${snap.consistency}-consistent, guest held ${snap.freezeMs?.toFixed(1)} ms, cut spread ${snap.cutSpreadMs?.toFixed(1)} ms`,
  );
  log('the guest keeps writing; waiting 4 s, then stopping the VM');
  await sleep(4_000);
  await rest.run(`/v1/vms/${vm.id}/stop`);
  const before = await readAll(rest, disks);
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
  await rest.run(`/v1/vms/${vm.id}/start`);
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
    snapshot: snap,
    disks: checks,
    orderOk: order.ok,
    cutSeq,
    missingBelowCut: order.missing.length,
    tree: lines,
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
    out.set(d.label, await readDisk(d.conn(v), d.kind));
  }
  return out;
}

/** How the demo reads a data volume back: as the host sees it. */
function connectionFor(
  b: Backends,
  cloud: Cloud,
  poolId: string,
): (v: VolumeView) => ConnectionDetails | RbdExport {
  if (poolId === cloud.pools.qcow2)
    return (v) => ({ adaptor: 'file', path: v.backendRef ?? '', format: 'qcow2' });
  if (poolId === cloud.pools.tgt) {
    return (v) => {
      const [iqn, lun] = (v.backendRef ?? '').split('/');
      return {
        adaptor: 'iscsi',
        portal: b.tgtPortal,
        iqn: iqn ?? '',
        lun: Number(lun ?? 1),
        initiator: cloud.host.iscsiInitiator ?? '',
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
