import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { guestExec, readWriterLog, type WriterRecord } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import type { Named } from './cloud.js';
import { waitForGuestAgent, type VolumeView } from './story.js';
import { discardVm } from './discard-vm.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
const QOS = { minIops: 50, maxIops: 1000, burstIops: 2000, burstSeconds: 10 };

type Moved = VolumeView & { poolId: string; state: string };

/** The disk's records in slot order, and what is wrong with them: a slot missing, order broken. */
function continuity(records: readonly WriterRecord[]): string[] {
  const bySlot = [...records].sort((a, b) => a.slot - b.slot);
  const problems: string[] = [];
  bySlot.forEach((r, i) => {
    if (r.slot !== i) problems.push(`slot ${i} missing (next is ${r.slot})`);
    const prev = bySlot[i - 1];
    if (prev && r.seq <= prev.seq) problems.push(`slot ${r.slot}: seq ${r.seq} after ${prev.seq}`);
    if (prev && r.timeUs < prev.timeUs) problems.push(`slot ${r.slot}: time runs backwards`);
  });
  return problems.slice(0, 10);
}

/** QEMU's limit on the VM's disk, as libvirt reads it back. */
async function iopsLimit(vmId: string, target: string): Promise<number> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'blkdeviotune', vmId, target]);
  return Number(/total_iops_sec\s*:\s*(\d+)/.exec(stdout)?.[1] ?? NaN);
}

// A volume moved between every kind of pool while the guest writes ordered records on it (its
// writer puts one record per slot, a global sequence across disks): qcow2 → tgt → RBD → qcow2
// running (block copy and pivot), then detached to tgt and back (offline copy). After each move
// the limits sit where the new pool enforces them; at the end every record the guest wrote is
// there, slot after slot, in order.
void describe('a disk moves between backends while its guest writes', { timeout: 1_200_000 }, () => {
  const root = { dir: '' };
  const children: ChildProcess[] = [];
  const lines: string[] = [];
  let env: Environment;
  let vm: Named;
  let volume: VolumeView;

  before(async () => {
    root.dir = await mkdtemp(join(tmpdir(), 'strata-move-'));
    const port = 21_000 + Math.floor(Math.random() * 1000);
    env = await bringUp({
      root: root.dir,
      port,
      agentPort: port + 1000,
      detached: false,
      log: (l) => lines.push(l),
      track: (c) => children.push(c),
    });
    const suffix = Math.random().toString(36).slice(2, 6);
    vm = (
      await env.rest.run<Named>('/v1/vms/deploy', {
        name: `move "${suffix}" <&> $(id)`,
        templateId: env.cloud.templateId,
        poolId: env.cloud.pools.qcow2,
        memoryBytes: 128 * MiB,
        start: true,
      })
    ).resource;
    await waitForGuestAgent(vm.id);
    volume = (
      await env.rest.run<VolumeView>('/v1/volumes', {
        name: `moving 'data' <${suffix}> $(id)`,
        poolId: env.cloud.pools.qcow2,
        sizeBytes: 64 * MiB,
        qos: QOS,
      })
    ).resource;
    await env.rest.run(`/v1/volumes/${volume.id}/attach`, { vmId: vm.id });
  });

  after(async () => {
    await discardVm(env?.rest, vm?.id);
    if (vm) await run('virsh', ['-c', 'qemu:///system', 'undefine', vm.id]).catch(() => undefined);
    for (const c of children) c.kill('SIGKILL');
    if (root.dir) await rm(root.dir, { recursive: true, force: true }).catch(() => undefined);
  });

  const move = async (poolId: string): Promise<Moved> => {
    const a = await env.rest.post<{ job: { id: string } }>(`/v1/volumes/${volume.id}/migrate`, { poolId });
    const job = await env.rest.waitJob(a.job as never, 600_000);
    assert.equal(job.state, 'Succeeded');
    const v = await env.rest.get<Moved>(`/v1/volumes/${volume.id}`);
    assert.equal(v.poolId, poolId);
    assert.equal(v.state, 'Ready');
    return v;
  };

  void test('refused at once: its own pool, a pool that does not exist, a volume a snapshot needs', async () => {
    const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
    const path = `/v1/volumes/${volume.id}/migrate`;
    await assert.rejects(env.rest.post(path, { poolId: env.cloud.pools.qcow2 }), code('INVALID_ARGUMENT'));
    await assert.rejects(env.rest.post(path, { poolId: 'no-such-pool' }), code('NOT_FOUND'));
    // a detached tgt volume with a snapshot of its own
    const pinned = (
      await env.rest.run<VolumeView>('/v1/volumes', {
        name: 'pinned',
        poolId: env.cloud.pools.tgt,
        sizeBytes: 64 * MiB,
      })
    ).resource;
    const snap = await env.rest.run<{ id: string }>('/v1/volume-snapshots', {
      volumeId: pinned.id,
      name: 'pins it',
    });
    await assert.rejects(
      env.rest.post(`/v1/volumes/${pinned.id}/migrate`, { poolId: env.cloud.pools.qcow2 }),
      code('VOLUME_HAS_DEPENDENT_SNAPSHOTS'),
    );
    await env.rest.runDelete(`/v1/volume-snapshots/${snap.resource.id}`);
    await env.rest.runDelete(`/v1/volumes/${pinned.id}`);
    const v = await env.rest.get<Moved>(`/v1/volumes/${volume.id}`);
    assert.equal(v.poolId, env.cloud.pools.qcow2, 'nothing moved');
    assert.equal(v.state, 'Ready');
  });

  void test('qcow2 → tgt → RBD → qcow2 running, then tgt and back detached: every record, in order', async (t) => {
    try {
      const { qcow2, tgt, rbd } = env.cloud.pools;
      const attached = await env.rest.get<Moved>(`/v1/volumes/${volume.id}`);
      const target = attached.deviceName ?? '';
      await sleep(8_000); // the writer finds the new disk and writes on it
      const first = await readWriterLog(attached.backendRef ?? '', { format: 'qcow2', maxBytes: 8 * MiB });
      assert.ok(first.length > 0, 'the guest wrote records before the first move');
      const oldFile = attached.backendRef ?? '';

      const route = [
        { poolId: tgt, iops: QOS.maxIops },
        ...(rbd ? [{ poolId: rbd, iops: 0 }] : []),
        { poolId: qcow2, iops: QOS.maxIops },
      ];
      if (!rbd) t.diagnostic(`no RBD pool: ${env.backends.cephSkipped}`);
      let moved = attached;
      for (const step of route) {
        moved = await move(step.poolId);
        // the source is gone with its move (the qcow2 file, until the disk comes back to its pool)
        if (step.poolId === tgt)
          await assert.rejects(run('qemu-img', ['info', '-U', oldFile]), 'the qcow2 source was deleted');
        // qcow2 and tgt: QEMU enforces the limit; RBD: librbd does, and QEMU's goes
        assert.equal(await iopsLimit(vm.id, target), step.iops, `QEMU's limit on ${step.poolId}`);
        if (step.poolId === rbd && env.backends.ceph) {
          const c = env.backends.ceph;
          const { stdout } = await run('rbd', [
            '--conf',
            c.confPath,
            '--keyring',
            c.adminKeyringPath,
            '--id',
            'admin',
            'config',
            'image',
            'get',
            moved.backendRef ?? '',
            'rbd_qos_iops_limit',
          ]);
          assert.equal(Number(stdout.trim()), QOS.maxIops, 'librbd holds the limit');
        }
        await sleep(3_000); // the guest writes on the new backend
      }

      const live = await readWriterLog(moved.backendRef ?? '', { format: 'qcow2', maxBytes: 8 * MiB });
      assert.deepEqual(continuity(live), [], 'slot after slot, in order');
      for (const r of first) assert.equal(live[live.findIndex((x) => x.slot === r.slot)]?.seq, r.seq);
      assert.ok(live.length > first.length, 'the guest wrote on throughout the moves');

      // detached: an offline copy to tgt and back by the host's agent
      await env.rest.run(`/v1/volumes/${volume.id}/detach`);
      const before = await readWriterLog(moved.backendRef ?? '', { format: 'qcow2', maxBytes: 8 * MiB });
      await move(tgt);
      const back = await move(qcow2);
      const after = await readWriterLog(back.backendRef ?? '', { format: 'qcow2', maxBytes: 8 * MiB });
      assert.deepEqual(after, before, 'the offline copies kept every record');
      const guest = await guestExec(vm.id, 'true');
      assert.equal(guest.exitCode, 0, 'the guest runs on');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.slice(-40).join('\n')}`, { cause: e });
    }
  });
});
