import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readWriterLog, type WriterRecord } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import type { Named } from './cloud.js';
import { readDisk } from './disks.js';
import type { JobView, Page } from './rest.js';
import { waitForGuestAgent, type VolumeView } from './story.js';
import { discardVm } from './discard-vm.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
/** Where the host agent keeps transient overlays (scripts/install.sh makes it). */
const HOST_STATE_DIR = '/var/lib/strata/state';

interface SnapView extends Named {
  readonly volumeId: string;
  readonly state: string;
  readonly backendRef: string | null;
  readonly vmSnapshotId: string | null;
}
interface GroupView {
  readonly id: string;
  readonly vmId: string | null;
  readonly snapshots: SnapView[];
}

const codeOf = (e: unknown) => (e as { code?: string }).code;
const lastSeq = (r: readonly WriterRecord[]) => r.at(-1)?.seq ?? 0;

// Snapshots of several volumes at one point, and volumes made from one disk of a VM snapshot,
// through the REST API on a running guest with disks on every backend.
void describe('volume snapshots across backends', { timeout: 1_200_000 }, () => {
  let root = '';
  const children: ChildProcess[] = [];
  const lines: string[] = [];
  let env: Environment;
  let vm: Named;
  const vol: Record<'qcow2' | 'tgt' | 'rbd', VolumeView | null> = { qcow2: null, tgt: null, rbd: null };

  /** The guest writer's records on a volume, read from its backend (the volume is attached nowhere). */
  async function records(v: VolumeView, kind: 'qcow2' | 'tgt' | 'rbd'): Promise<WriterRecord[]> {
    const now = await env.rest.get<VolumeView>(`/v1/volumes/${v.id}`);
    if (kind === 'qcow2') return readWriterLog(now.backendRef!, { format: 'qcow2' });
    if (kind === 'tgt') return readWriterLog(join(env.backends.tgtDir, 'volumes', `${v.id}.raw`));
    const ceph = env.backends.ceph!;
    return readDisk(
      {
        adaptor: 'rbd-export',
        spec: now.backendRef!,
        confPath: ceph.confPath,
        keyringPath: ceph.adminKeyringPath,
      },
      'raw-records',
    );
  }

  const volumeFrom = async (snapshotId: string, name: string) =>
    (await env.rest.run<VolumeView>('/v1/volumes', { name, snapshotId })).resource;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'strata-vsnap-'));
    const port = 28_000 + Math.floor(Math.random() * 1000); // its lane runs beside files that take 18_000..23_999
    env = await bringUp({
      root,
      port,
      agentPort: port + 1000,
      detached: false,
      log: (l) => lines.push(l),
      track: (c) => children.push(c),
    });
    vm = (
      await env.rest.run<Named>('/v1/vms/deploy', {
        name: `group "snap" <&> $(id)`,
        templateId: env.cloud.templateId,
        poolId: env.cloud.pools.qcow2,
        memoryBytes: 128 * MiB,
        start: true,
      })
    ).resource;
    await waitForGuestAgent(vm.id);
    for (const kind of ['qcow2', 'tgt', 'rbd'] as const) {
      const pool = env.cloud.pools[kind];
      if (!pool) continue;
      const made = await env.rest.run<VolumeView>('/v1/volumes', {
        name: `${kind} 'data'`,
        poolId: pool,
        sizeBytes: 64 * MiB,
      });
      await env.rest.run(`/v1/volumes/${made.resource.id}/attach`, { vmId: vm.id });
      vol[kind] = made.resource;
    }
    await sleep(5_000); // the guest's writer picks the disks up and writes to all of them
  });

  after(async () => {
    await discardVm(env?.rest, vm?.id);
    // A stopped domain stays defined in libvirt: every agent on this machine would keep reporting it.
    if (vm) await run('virsh', ['-c', 'qemu:///system', 'undefine', vm.id]).catch(() => undefined);
    for (const c of children) c.kill('SIGKILL');
    if (root) await rm(root, { recursive: true, force: true }).catch(() => undefined);
  });

  void test('one consistent snapshot of a list of volumes: one group per backend, one freeze', async (t) => {
    try {
      const tgt = vol.tgt!;
      const rbd = vol.rbd;
      if (!rbd) t.diagnostic(`no RBD volume: ${env.backends.cephSkipped}`);
      const group = (ids: string[]) =>
        env.rest.post('/v1/volume-snapshots/group', { volumeIds: ids, name: 'g' });
      await assert.rejects(group([]), (e) => codeOf(e) === 'INVALID_ARGUMENT');
      await assert.rejects(group([tgt.id, tgt.id]), (e) => codeOf(e) === 'INVALID_ARGUMENT');
      await assert.rejects(group([tgt.id, 'vol-unknown']), (e) => codeOf(e) === 'NOT_FOUND');
      const other = (
        await env.rest.run<Named>('/v1/vms/deploy', {
          name: 'another vm',
          templateId: env.cloud.templateId,
          poolId: env.cloud.pools.qcow2,
          memoryBytes: 128 * MiB,
          start: false,
        })
      ).resource;
      const elsewhere = (
        await env.rest.run<VolumeView>('/v1/volumes', {
          name: 'elsewhere',
          poolId: env.cloud.pools.tgt,
          sizeBytes: MiB,
        })
      ).resource;
      await env.rest.run(`/v1/volumes/${elsewhere.id}/attach`, { vmId: other.id });
      await assert.rejects(group([tgt.id, elsewhere.id]), (e) => codeOf(e) === 'SNAPSHOT_GROUP_SPANS_VMS');
      // A qcow2 file a running QEMU writes to is the hypervisor's to snapshot: a clear refusal.
      await assert.rejects(
        env.rest.run('/v1/volume-snapshots/group', { volumeIds: [tgt.id, vol.qcow2!.id], name: 'no' }),
        /STORAGE_UNSUPPORTED/,
      );

      const members = rbd ? [tgt, rbd] : [tgt];
      const a = await env.rest.post<{ job: JobView; resource: GroupView }>('/v1/volume-snapshots/group', {
        volumeIds: members.map((m) => m.id),
        name: `together <"'&>`,
      });
      assert.equal(a.resource.vmId, vm.id);
      const job = await env.rest.waitJob(a.job);
      const result = job.result as { mode: string; frozen: boolean; holdMs: number; backends: number };
      t.diagnostic(
        `guest held ${result.holdMs.toFixed(1)} ms for ${result.backends} backends (${result.mode})`,
      );
      assert.equal(result.frozen, true, 'the running guest was frozen for the cut');
      assert.equal(result.backends, members.length);
      // The disks (one or several) are cut by one atomic overlay inside the freeze, then committed back.
      assert.equal(result.mode, 'overlay');
      const blk = (await run('virsh', ['-c', 'qemu:///system', 'domblklist', vm.id])).stdout;
      assert.doesNotMatch(blk, /\.group\.qcow2/, `the disks run on their backends again:\n${blk}`);
      const snaps = (await env.rest.get<Page<SnapView>>('/v1/volume-snapshots', { name: `together <"'&>` }))
        .items;
      assert.deepEqual(snaps.map((s) => s.volumeId).sort(), members.map((m) => m.id).sort());
      for (const s of snaps) assert.equal(s.state, 'Ready');

      // The cut is one point: volumes made from the snapshots end within one round of the writer.
      const lasts: number[] = [];
      for (const [i, s] of snaps.entries()) {
        const kind = s.volumeId === tgt.id ? 'tgt' : 'rbd';
        const made = await volumeFrom(s.id, `from group ${i}`);
        const recs = await records(made, kind);
        assert.ok(
          recs.length > 0,
          `${kind}: the volume made from the group snapshot holds the guest's writes`,
        );
        lasts.push(lastSeq(recs));
      }
      t.diagnostic(`last write on each member: ${lasts.join(', ')}`);
      assert.ok(Math.max(...lasts) - Math.min(...lasts) <= 4, 'at most one writer round apart (4 disks)');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.slice(-30).join('\n')}`, { cause: e });
    }
  });

  void test('a group cut whose backend fails after the overlay is undone: disks back, records Error', async (t) => {
    const tgt = vol.tgt!;
    const rbd = vol.rbd;
    if (!rbd) {
      t.skip(`needs two backends under one overlay: ${env.backends.cephSkipped}`);
      return;
    }
    // tgt snapshots reflink the volume's file: moved away, the backend fails after the overlay is
    // taken. tgtd keeps serving the open file meanwhile, so the guest writes on.
    const raw = join(env.backends.tgtDir, 'volumes', `${tgt.id}.raw`);
    await rename(raw, `${raw}.away`);
    let failed: unknown;
    try {
      await env.rest.run('/v1/volume-snapshots/group', { volumeIds: [tgt.id, rbd.id], name: 'fails' });
    } catch (e) {
      failed = e;
    } finally {
      await rename(`${raw}.away`, raw);
    }
    assert.ok(failed, 'the group job failed');
    const snaps = (await env.rest.get<Page<SnapView>>('/v1/volume-snapshots', { name: 'fails' })).items;
    assert.deepEqual(
      snaps.map((s) => s.state),
      ['Error', 'Error'],
    );
    const blk = (await run('virsh', ['-c', 'qemu:///system', 'domblklist', vm.id])).stdout;
    assert.doesNotMatch(blk, /\.group\.qcow2/, `the overlays were committed back:\n${blk}`);
    const left = (await readdir(HOST_STATE_DIR)).filter(
      (f) => f.startsWith(`${vm.id}.`) && f.endsWith('.group.qcow2'),
    );
    assert.deepEqual(left, [], 'the transient overlay files are gone');
    // The guest's writes reached the backend again after the commit: the disks still work.
    const before = lastSeq(await records(tgt, 'tgt'));
    await sleep(2_000);
    assert.ok(lastSeq(await records(tgt, 'tgt')) > before, 'the guest writes on to the tgt volume');
  });

  void test('a volume from one disk of a VM snapshot, on each backend', async (t) => {
    try {
      const snap = (
        await env.rest.run<Named>('/v1/vm-snapshots', { vmId: vm.id, name: 'source', quiesce: 'hypervisor' })
      ).resource;
      await sleep(2_000); // the disks move on after the snapshot
      const parts = (await env.rest.get<Page<SnapView>>('/v1/volume-snapshots', { vmSnapshotId: snap.id }))
        .items;
      for (const kind of ['qcow2', 'tgt', 'rbd'] as const) {
        const source = vol[kind];
        if (!source) continue;
        const part = parts.find((p) => p.volumeId === source.id);
        assert.ok(part, `${kind}: the VM snapshot lists a part for the volume`);
        if (kind === 'rbd') {
          // librbd 16 cannot clone one image out of a group snapshot: refused with its code.
          await assert.rejects(volumeFrom(part.id, 'from rbd part'), /STORAGE_UNSUPPORTED/);
          continue;
        }
        const made = await volumeFrom(part.id, `from ${kind} part`);
        const recs = await records(made, kind);
        assert.ok(recs.length > 0, `${kind}: the new volume holds the guest's writes up to the snapshot`);
        assert.ok(
          recs.every((r) => r.serial === source.id.slice(0, 20)),
          `${kind}: every record came from the source disk`,
        );
        t.diagnostic(`${kind}: ${recs.length} records, last #${lastSeq(recs)}`);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.slice(-30).join('\n')}`, { cause: e });
    }
  });
});
