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
import { readAdminCredentials } from './processes.js';
import { cloudstack } from '@strata/server/cloudstack/cs-client';

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

/** The disk element at `target` in the domain's saved (inactive) definition. */
async function savedDisk(vmId: string, target: string): Promise<string> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'dumpxml', '--inactive', vmId]);
  return (
    [...stdout.matchAll(/<disk\b[\s\S]*?<\/disk>/g)]
      .map((m) => m[0])
      .find((d) => d.includes(`dev='${target}'`)) ?? ''
  );
}

type Pool = { usedBytes: number };
type Orphans = { orphans: Array<{ kind: string; ref: string; volumeId?: string }>; warnings: string[] };
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

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

  void test('refused at once: its own pool, a pool that does not exist', async () => {
    const path = `/v1/volumes/${volume.id}/migrate`;
    await assert.rejects(env.rest.post(path, { poolId: env.cloud.pools.qcow2 }), code('INVALID_ARGUMENT'));
    await assert.rejects(env.rest.post(path, { poolId: 'no-such-pool' }), code('NOT_FOUND'));
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
        const addressBefore = /<address\b[^>]*\/>/.exec(await savedDisk(vm.id, target))?.[0];
        moved = await move(step.poolId);
        // the saved definition names the new disk too, at the same device address
        const saved = await savedDisk(vm.id, target);
        if (step.poolId === qcow2) assert.ok(saved.includes(`file='${moved.backendRef}'`), saved);
        else assert.ok(saved.includes(step.poolId === tgt ? "protocol='iscsi'" : "protocol='rbd'"), saved);
        assert.equal(/<address\b[^>]*\/>/.exec(saved)?.[0], addressBefore, 'the device address is kept');
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

  const csKeys = async () => {
    const creds = await readAdminCredentials(join(root.dir, 'server'));
    return { key: creds.apiKey, secret: creds.secretKey };
  };
  const usedOn = async (poolId: string) =>
    (await env.rest.get<Pool>(`/v1/storage-pools/${poolId}`)).usedBytes;
  const orphansOf = async (volumeId: string) =>
    (await env.rest.get<Orphans>('/v1/orphans')).orphans.filter(
      (o) => o.volumeId === volumeId || o.ref.includes(volumeId),
    );

  void test('a volume snapshot keeps its data on the pool the volume left, until it is deleted', async () => {
    const { qcow2, tgt } = env.cloud.pools;
    const pinned = (
      await env.rest.run<VolumeView>('/v1/volumes', {
        name: 'pinned <"x">',
        poolId: tgt,
        sizeBytes: 16 * MiB,
      })
    ).resource;
    const snap = (
      await env.rest.run<{ id: string }>('/v1/volume-snapshots', { volumeId: pinned.id, name: 's' })
    ).resource;
    const tgtBefore = await usedOn(tgt);
    const moved = await env.rest.run<Moved>(`/v1/volumes/${pinned.id}/migrate`, { poolId: qcow2 });
    const v = await env.rest.get<Moved>(`/v1/volumes/${pinned.id}`);
    assert.deepEqual([v.poolId, v.state], [qcow2, 'Ready']);
    assert.ok(
      JSON.stringify(moved.job.result).includes('"sourceKept":true'),
      JSON.stringify(moved.job.result),
    );
    // hidden: not a volume of its old pool, still counted there, no orphan
    const onTgt = await env.rest.get<{ items: VolumeView[] }>('/v1/volumes', { poolId: tgt, limit: 500 });
    assert.ok(!onTgt.items.some((x) => x.id === pinned.id), 'not listed on the pool it left');
    assert.equal(await usedOn(tgt), tgtBefore, 'its former copy still counts on the pool it left');
    assert.deepEqual(await orphansOf(pinned.id), [], 'the former copy is no orphan');
    // the snapshot is listed; revert and a volume from it are refused; the way back is closed
    const listed = await env.rest.get<{ items: { id: string; state: string }[] }>('/v1/volume-snapshots', {
      volumeId: pinned.id,
    });
    assert.deepEqual(
      listed.items.map((x) => [x.id, x.state]),
      [[snap.id, 'Ready']],
    );
    await assert.rejects(
      env.rest.post(`/v1/volume-snapshots/${snap.id}/revert`),
      code('SNAPSHOT_ON_FORMER_POOL'),
    );
    await assert.rejects(
      env.rest.post('/v1/volumes', { name: 'from it', snapshotId: snap.id }),
      code('SNAPSHOT_ON_FORMER_POOL'),
    );
    await assert.rejects(
      env.rest.post(`/v1/volumes/${pinned.id}/migrate`, { poolId: tgt }),
      code('VOLUME_HAS_DEPENDENT_SNAPSHOTS'),
    );
    // the last snapshot deleted: its delete job deletes the former copy, the pool gets the room back
    const deleted = await env.rest.runDelete(`/v1/volume-snapshots/${snap.id}`);
    assert.ok(JSON.stringify(deleted.result).includes(`${pinned.id}@${tgt}`), JSON.stringify(deleted.result));
    assert.equal(await usedOn(tgt), tgtBefore - 16 * MiB, 'the room is back');
    assert.deepEqual(await orphansOf(pinned.id), []);
    await env.rest.run(`/v1/volumes/${pinned.id}/migrate`, { poolId: tgt });
    await env.rest.runDelete(`/v1/volumes/${pinned.id}`);
  });

  void test('a VM snapshot covering a moved disk: listed, revert refused, delete cleans the old pool', async () => {
    const { qcow2, tgt } = env.cloud.pools;
    const snapped = (
      await env.rest.run<VolumeView>('/v1/volumes', { name: 'snapped', poolId: qcow2, sizeBytes: 16 * MiB })
    ).resource;
    await env.rest.run(`/v1/volumes/${snapped.id}/attach`, { vmId: vm.id });
    const layered = await env.rest.get<Moved>(`/v1/volumes/${snapped.id}`);
    const s = (await env.rest.run<{ id: string }>('/v1/vm-snapshots', { vmId: vm.id, name: 'covers it' }))
      .resource;
    const active = (await env.rest.get<Moved>(`/v1/volumes/${snapped.id}`)).backendRef ?? '';
    const qcow2Before = await usedOn(qcow2);
    // moved through CloudStack's migrateVolume (cs, the real client, signs it), its job polled
    const cs = { endpoint: `${env.url}/client/api`, ...(await csKeys()) };
    const refused = await cloudstack(cs, 'migrateVolume', { volumeid: snapped.id, storageid: tgt });
    assert.equal(refused.code, 1, "a running VM's disk needs livemigrate=true");
    const started = await cloudstack(
      cs,
      'migrateVolume',
      { volumeid: snapped.id, storageid: tgt, livemigrate: 'true' },
      { noWait: true },
    );
    const jobid = typeof started.json?.['jobid'] === 'string' ? started.json['jobid'] : '';
    assert.ok(jobid, started.stdout);
    let result: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) {
      result = (await cloudstack(cs, 'queryAsyncJobResult', { jobid })).json ?? {};
      if (result['jobstatus'] !== 0) break;
      await sleep(1_000);
    }
    assert.equal(result['jobstatus'], 1, JSON.stringify(result));
    assert.equal(result['jobinstanceid'], snapped.id);
    const answered = (result['jobresult'] as { volume?: { storageid?: string; state?: string } }).volume;
    assert.deepEqual([answered?.storageid, answered?.state], [tgt, 'Ready'], JSON.stringify(result));
    assert.equal(await usedOn(qcow2), qcow2Before, 'its former copy still counts on qcow2');
    await run('qemu-img', ['info', '-U', active]); // the old layers are there
    assert.deepEqual(await orphansOf(snapped.id), [], 'the former copy is no orphan');
    const listed = await env.rest.get<{ items: { id: string }[] }>('/v1/vm-snapshots', { vmId: vm.id });
    assert.ok(
      listed.items.some((x) => x.id === s.id),
      'the VM snapshot is listed',
    );
    await assert.rejects(env.rest.post(`/v1/vm-snapshots/${s.id}/revert`), code('SNAPSHOT_ON_FORMER_POOL'));
    const deleted = await env.rest.runDelete(`/v1/vm-snapshots/${s.id}`);
    assert.ok(
      JSON.stringify(deleted.result).includes(`${snapped.id}@${qcow2}`),
      JSON.stringify(deleted.result),
    );
    assert.equal(await usedOn(qcow2), qcow2Before - 16 * MiB, 'the room is back');
    await assert.rejects(run('qemu-img', ['info', '-U', active]), 'its layers are gone');
    await assert.rejects(run('qemu-img', ['info', '-U', layered.backendRef ?? '']), 'its base is gone');
    assert.deepEqual(await orphansOf(snapped.id), []);
    assert.equal((await guestExec(vm.id, 'true')).exitCode, 0, 'the guest runs on');
    await env.rest.run(`/v1/volumes/${snapped.id}/detach`);
    await env.rest.runDelete(`/v1/volumes/${snapped.id}`);
  });

  for (const backend of ['tgt', 'rbd'] as const)
    void test(`a VM-snapshot part ${backend} took itself, on the pool its disk left: revert refused, delete removes it and the former copy`, async (t) => {
      const { qcow2 } = env.cloud.pools;
      const from = env.cloud.pools[backend];
      if (!from) return t.skip(`no ${backend} pool in this environment`);
      const onIt = (
        await env.rest.run<VolumeView>('/v1/volumes', {
          name: `${backend} part <"p">`,
          poolId: from,
          sizeBytes: 16 * MiB,
        })
      ).resource;
      await env.rest.run(`/v1/volumes/${onIt.id}/attach`, { vmId: vm.id });
      const s = (
        await env.rest.run<{ id: string }>('/v1/vm-snapshots', { vmId: vm.id, name: `${backend} part` })
      ).resource;
      // the size route says who took each part: a hypervisor overlay, or the storage (tgt sizes
      // its part; an RBD group snapshot cannot be sized per volume)
      const size = await env.rest.get<{
        parts: { volumeId: string; size: number | null; sizeNote: string }[];
      }>(`/v1/vm-snapshots/${s.id}/size`);
      const part = size.parts.find((p) => p.volumeId === onIt.id);
      assert.ok(
        part && !/taken by the hypervisor/.test(part.sizeNote),
        `${backend} took its part: ${JSON.stringify(size.parts)}`,
      );
      const before = await usedOn(from);
      const moved = await env.rest.run<Moved>(`/v1/volumes/${onIt.id}/migrate`, { poolId: qcow2 });
      assert.ok(
        JSON.stringify(moved.job.result).includes('"sourceKept":true'),
        JSON.stringify(moved.job.result),
      );
      const v = await env.rest.get<Moved>(`/v1/volumes/${onIt.id}`);
      assert.deepEqual([v.poolId, v.state], [qcow2, 'Ready']);
      assert.equal(await usedOn(from), before, `its former copy still counts on ${backend}`);
      assert.deepEqual(await orphansOf(onIt.id), [], 'the former copy and its part are no orphans');
      await assert.rejects(env.rest.post(`/v1/vm-snapshots/${s.id}/revert`), code('SNAPSHOT_ON_FORMER_POOL'));
      const deleted = await env.rest.runDelete(`/v1/vm-snapshots/${s.id}`);
      assert.ok(
        JSON.stringify(deleted.result).includes(`${onIt.id}@${from}`),
        JSON.stringify(deleted.result),
      );
      assert.equal(await usedOn(from), before - 16 * MiB, 'the room is back');
      assert.deepEqual(await orphansOf(onIt.id), []);
      assert.equal((await guestExec(vm.id, 'true')).exitCode, 0, 'the guest runs on');
      await env.rest.run(`/v1/volumes/${onIt.id}/detach`);
      await env.rest.runDelete(`/v1/volumes/${onIt.id}`);
    });

  void test('an attach beside a move of a detached volume is refused or ordered, never raced', async () => {
    const { qcow2, tgt } = env.cloud.pools;
    const racer = (
      await env.rest.run<VolumeView>('/v1/volumes', { name: 'racer', poolId: tgt, sizeBytes: 16 * MiB })
    ).resource;
    // the move first: marked at once, the attach refused at once
    const m1 = await env.rest.post<{ job: { id: string } }>(`/v1/volumes/${racer.id}/migrate`, {
      poolId: qcow2,
    });
    await assert.rejects(
      env.rest.post(`/v1/volumes/${racer.id}/attach`, { vmId: vm.id }),
      code('ILLEGAL_TRANSITION'),
    );
    await env.rest.waitJob(m1.job as never, 300_000);
    // the attach first, the move right after: either the attach ran first (then a live move) or it meets the mark
    const a = await env.rest.post<{ job: { id: string } }>(`/v1/volumes/${racer.id}/attach`, { vmId: vm.id });
    const m2 = await env.rest.post<{ job: { id: string } }>(`/v1/volumes/${racer.id}/migrate`, {
      poolId: tgt,
    });
    const attached = await env.rest.waitJob(a.job as never, 300_000).then(
      () => true,
      (e: Error) => {
        assert.match(e.message, /ILLEGAL_TRANSITION/);
        return false;
      },
    );
    await env.rest.waitJob(m2.job as never, 300_000);
    const v = await env.rest.get<Moved>(`/v1/volumes/${racer.id}`);
    assert.deepEqual([v.poolId, v.state, v.vmId !== null], [tgt, 'Ready', attached]);
    if (attached) {
      const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'domblklist', vm.id]);
      const line = stdout.split('\n').find((l) => l.trim().startsWith(`${v.deviceName} `)) ?? '';
      assert.ok(!line.includes('.qcow2'), `the guest's disk is on tgt: ${line}`);
      await env.rest.run(`/v1/volumes/${racer.id}/detach`);
    }
    assert.deepEqual(await orphansOf(racer.id), []);
    await env.rest.runDelete(`/v1/volumes/${racer.id}`);
  });
});
