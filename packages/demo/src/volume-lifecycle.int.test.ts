import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeRecords, guestExec, type WriterRecord } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import type { Named } from './cloud.js';
import { waitForGuestAgent, type VolumeView } from './story.js';
import { discardVm } from './discard-vm.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
/** Far beyond where the guest's writer gets to in a test's life (it writes from slot 0 up). */
const MARK_SLOT = 120_000;
const SCANNED_SLOTS = 512;

/**
 * The guest's device for a volume, once it is usable: virtio-blk shows the first 20 characters of
 * the serial, and a freshly hot-plugged disk reads as empty until its size and node are in place.
 */
async function deviceOf(vmId: string, volumeId: string): Promise<string | null> {
  const out = await guestExec(
    vmId,
    'cd /sys/block && for d in vd*; do [ -e "$d/serial" ] || continue; read s < "$d/serial"; read n < "$d/size"; [ -b "/dev/$d" ] && echo "$d $n $s"; done',
  );
  for (const line of out.stdout.split('\n')) {
    const [dev, sectors, serial] = line.split(' ');
    if (dev && Number(sectors) > 0 && serial === volumeId.slice(0, 20)) return dev;
  }
  return null;
}

async function waitDevice(vmId: string, volumeId: string, present: boolean): Promise<string | null> {
  const end = Date.now() + 60_000;
  for (;;) {
    const dev = await deviceOf(vmId, volumeId);
    if ((dev !== null) === present) return dev;
    if (Date.now() > end)
      throw new Error(`volume ${volumeId} ${present ? 'never appeared' : 'stayed'} in the guest`);
    await sleep(300);
  }
}

/** Reads sectors of a disk inside the guest (the guest's own view of its data). */
async function guestRead(vmId: string, dev: string, skip: number, count: number): Promise<Buffer> {
  const out = await guestExec(vmId, `dd if=/dev/${dev} bs=512 skip=${skip} count=${count}`);
  assert.equal(out.exitCode, 0, `dd if=/dev/${dev} in the guest: ${out.stderr}`);
  return Buffer.from(out.stdout, 'latin1');
}

const bySlot = (records: readonly WriterRecord[]) => new Map(records.map((r) => [r.slot, r]));

// The volume lifecycle on a running guest through the REST API, on all three kinds of storage.
void describe('volume lifecycle on a running guest', { timeout: 1_200_000 }, () => {
  const root = { dir: '' };
  const children: ChildProcess[] = [];
  const lines: string[] = [];
  let env: Environment;
  let vm: Named;
  const volumes: Array<{ label: string; volume: VolumeView }> = [];
  const withLog = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.slice(-40).join('\n')}`, { cause: e });
    }
  };

  before(async () => {
    root.dir = await mkdtemp(join(tmpdir(), 'strata-vol-'));
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
        name: `lifecycle "${suffix}" <&> $(id)`,
        templateId: env.cloud.templateId,
        poolId: env.cloud.pools.qcow2,
        memoryBytes: 128 * MiB,
        start: true,
      })
    ).resource;
    await waitForGuestAgent(vm.id);
    const pools = [
      { label: 'qcow2', pool: env.cloud.pools.qcow2 },
      { label: 'tgt', pool: env.cloud.pools.tgt },
      ...(env.cloud.pools.rbd ? [{ label: 'rbd', pool: env.cloud.pools.rbd }] : []),
    ];
    for (const p of pools) {
      const made = await env.rest.run<VolumeView>('/v1/volumes', {
        name: `${p.label} 'data' <${suffix}>`,
        poolId: p.pool,
        sizeBytes: 64 * MiB,
        qos: { minIops: 50, maxIops: 1000, burstIops: 2000, burstSeconds: 10 },
      });
      volumes.push({ label: p.label, volume: made.resource });
    }
  });

  after(async () => {
    await discardVm(env?.rest, vm?.id);
    // A stopped domain stays defined in libvirt: every agent on this machine would keep reporting it.
    if (vm) await run('virsh', ['-c', 'qemu:///system', 'undefine', vm.id]).catch(() => undefined);
    for (const c of children) c.kill('SIGKILL');
    if (root.dir) await rm(root.dir, { recursive: true, force: true }).catch(() => undefined);
  });

  void test('attach, write, detach, reattach keeps the data, read inside the guest', async (t) => {
    await withLog(async () => {
      if (!env.cloud.pools.rbd) t.diagnostic(`no RBD volume: ${env.backends.cephSkipped}`);
      for (const { label, volume } of volumes) {
        await env.rest.run(`/v1/volumes/${volume.id}/attach`, { vmId: vm.id });
        const dev = await waitDevice(vm.id, volume.id, true);
        await sleep(4_000); // the guest's writer picks the new disk up and writes records on it
        const token = `STRATA-MARK ${label} ${Math.random().toString(36).slice(2)}`;
        const mark = await guestExec(
          vm.id,
          `printf '%-511s\\n' '${token}' | dd of=/dev/${dev} bs=512 seek=${MARK_SLOT} count=1 conv=notrunc,fsync 2>/dev/null`,
        );
        assert.equal(mark.exitCode, 0, mark.stderr);
        const beforeRecords = decodeRecords(await guestRead(vm.id, dev!, 0, SCANNED_SLOTS));
        assert.ok(beforeRecords.length > 0, `${label}: the guest wrote records on the hot-plugged disk`);

        await env.rest.run(`/v1/volumes/${volume.id}/detach`);
        await waitDevice(vm.id, volume.id, false);
        const detached = await env.rest.get<VolumeView>(`/v1/volumes/${volume.id}`);
        assert.equal(detached.deviceName, null);

        await env.rest.run(`/v1/volumes/${volume.id}/attach`, { vmId: vm.id });
        const dev2 = await waitDevice(vm.id, volume.id, true);
        const afterRecords = bySlot(decodeRecords(await guestRead(vm.id, dev2!, 0, SCANNED_SLOTS)));
        const marked = (await guestRead(vm.id, dev2!, MARK_SLOT, 1)).toString('latin1').trimEnd();
        assert.equal(
          marked,
          token,
          `${label}: the mark written before the detach reads back after the reattach`,
        );
        let kept = 0;
        for (const r of beforeRecords) {
          const now = afterRecords.get(r.slot);
          assert.ok(now, `${label}: the record in slot ${r.slot} is gone`);
          assert.ok(now.seq >= r.seq, `${label}: slot ${r.slot} went back from #${r.seq} to #${now.seq}`);
          if (now.seq === r.seq) kept += 1;
        }
        t.diagnostic(
          `${label}: ${beforeRecords.length} records before the detach, ${kept} unchanged after the reattach (${dev} -> ${dev2})`,
        );
        assert.ok(kept > 0, `${label}: records written before the detach are still there`);
      }
    });
  });

  void test('QoS changed live is read back from the hypervisor, and from librbd for RBD', async () => {
    await withLog(async () => {
      const qos = { minIops: 60, maxIops: 300, burstIops: 600, burstSeconds: 5 };
      for (const { label, volume } of volumes) {
        const accepted = await env.rest.api.request<{ job: { id: string } }>(
          'PUT',
          `/v1/volumes/${volume.id}/qos`,
          {
            body: qos,
          },
        );
        const job = await env.rest.waitJob(accepted.job as Parameters<typeof env.rest.waitJob>[0]);
        const result = job.result as {
          live: boolean;
          enforcedBy: string;
          iotune: Record<string, number> | null;
        };
        assert.equal(result.live, true, `${label}: applied to the running guest`);
        const v = await env.rest.get<VolumeView>(`/v1/volumes/${volume.id}`);
        const seen = await blkdeviotune(vm.id, v.deviceName!);
        if (label === 'rbd') {
          assert.equal(result.enforcedBy, 'backend');
          assert.equal(seen['total_iops_sec'], 0, 'librbd enforces it: QEMU holds no limit');
          const conf = await rbdQos(env, v.backendRef!);
          assert.equal(conf['rbd_qos_iops_limit'], '300');
          assert.equal(conf['rbd_qos_iops_burst'], '600');
        } else {
          assert.deepEqual(result.iotune, {
            totalIopsSec: 300,
            totalIopsSecMax: 600,
            totalIopsSecMaxLength: 5,
          });
          assert.equal(seen['total_iops_sec'], 300, `${label}: the hypervisor holds the new maximum`);
          assert.equal(seen['total_iops_sec_max'], 600, `${label}: and the new burst`);
          assert.equal(seen['total_iops_sec_max_length'], 5, `${label}: and its length`);
        }
      }
    });
  });

  void test('deleting a qcow2 volume removes the overlays VM snapshots put over it', async () => {
    await withLog(async () => {
      const qcow2 = volumes.find((v) => v.label === 'qcow2')!.volume;
      const snap = await env.rest.run<Named>('/v1/vm-snapshots', {
        vmId: vm.id,
        name: 'before delete',
        quiesce: 'hypervisor',
      });
      const filesOf = async () =>
        (await readdir(env.backends.qcow2Dir)).filter((f) => f.startsWith(`${qcow2.id}.`));
      const withOverlay = await filesOf();
      assert.ok(
        withOverlay.includes(`${qcow2.id}.${snap.resource.id}.qcow2`),
        `the snapshot put an overlay over the volume: ${withOverlay.join(' ')}`,
      );
      // a volume a VM snapshot holds a part of is not deleted: refused, naming the snapshot
      await env.rest.run(`/v1/volumes/${qcow2.id}/detach`);
      await assert.rejects(
        env.rest.runDelete(`/v1/volumes/${qcow2.id}`),
        (e: unknown) =>
          (e as { code?: string }).code === 'VOLUME_HAS_DEPENDENT_SNAPSHOTS' &&
          String((e as Error).message).includes(snap.resource.id),
      );
      await env.rest.runDelete(`/v1/vm-snapshots/${snap.resource.id}`);
      // once the snapshot is gone, the delete removes every file of the volume
      await env.rest.runDelete(`/v1/volumes/${qcow2.id}`);
      assert.deepEqual(await filesOf(), [], 'no file of the deleted volume is left in the pool');
    });
  });
});

/** The hypervisor's limits as virsh reports them (read here, apart from the product's own read-back). */
async function blkdeviotune(domain: string, target: string): Promise<Record<string, number>> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'blkdeviotune', domain, target, '--live']);
  const out: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\w+)\s*:\s*(\d+)\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** librbd's QoS settings of an image, read with the cluster's admin key. */
async function rbdQos(env: Environment, spec: string): Promise<Record<string, string>> {
  const ceph = env.backends.ceph!;
  const { stdout } = await run('rbd', [
    '--conf',
    ceph.confPath,
    '--keyring',
    ceph.adminKeyringPath,
    '--id',
    'admin',
    'config',
    'image',
    'list',
    spec,
    '--format',
    'json',
  ]);
  const list = JSON.parse(stdout) as Array<{ name: string; value: string }>;
  return Object.fromEntries(list.map((c) => [c.name, c.value]));
}
