import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invariantProblems } from './crash-checks.js';
import { crashEachJobType, type JobCase } from './crash-cases.js';
import { strayQcow2Layer } from './crash-orphan-makers.js';
import type { Accepted, JobView } from './rest.js';
import type { VolumeView } from './story.js';
import { withCrashVm } from './crash-vm.js';

const MiB = 1024 ** 2;
type Job = { job: JobView };

// Crash safety of the volume-snapshot jobs (create with the guest held, delete, revert, group),
// of VM destroy and expunge, and of the orphan collection: a VM on one of two KVM hosts with disks
// on qcow2, tgt and RBD; for each job type, the server SIGKILLed at one of its step boundaries (a
// different one each day; every one with STRATA_CRASH_SWEEP=all). After each: the job ends done
// or undone, the VM's invariants hold (on one host, disks on their backends and the ones the
// domain runs, no orphan, no guest frozen or paused), and no volume is left half-way.
test(
  'crash safety: volume-snapshot create, delete, revert, group, VM destroy, expunge and orphan collection: server killed at a step boundary of each',
  { timeout: 3_600_000 },
  (t) =>
    withCrashVm(async ({ cx: env, vm, disks, pools, keep }) => {
      const rest = env.env.rest;
      let n = 0;
      const named = (what: string) => `crash "${what}" <${++n}> $(id)`;
      const lun = disks.find((d) => d.volume.poolId === env.cloud.pools.tgt)?.volume;
      assert.ok(lun, 'the VM has a LUN');
      const snapshot = (volumeId: string, quiesce = false) =>
        rest.post<Accepted<{ id: string }>>('/v1/volume-snapshots', {
          volumeId,
          name: named('snapshot'),
          quiesce,
        });
      const snapshotted = async (volumeId: string) => {
        const a = await snapshot(volumeId);
        await rest.waitJob(a.job);
        return a.resource.id;
      };
      // a detached volume, reverted while no guest holds it
      const loose = await rest.run<VolumeView>('/v1/volumes', {
        name: named('loose'),
        poolId: env.cloud.pools.tgt,
        sizeBytes: 64 * MiB,
      });
      const deploy = async () => {
        const a = await rest.post<Accepted<{ id: string }>>('/v1/vms/deploy', {
          name: named('doomed'),
          templateId: env.cloud.templateId,
          poolId: env.cloud.pools.qcow2,
          memoryBytes: 128 * MiB,
          hostId: env.vmHost.id,
          start: false,
        });
        await rest.waitJob(a.job);
        keep(a.resource.id);
        return a.resource.id;
      };
      const destroyed = async () => {
        const id = await deploy();
        await rest.waitJob((await rest.api.request<Job>('DELETE', `/v1/vms/${id}`)).job);
        return id;
      };
      const cases: JobCase[] = [
        // the guest held (frozen) for the cut, through the one hold primitive
        ['volume-snapshot.create', () => snapshot(lun.id, true)],
        [
          'volume-snapshot.delete',
          async () => rest.api.request<Job>('DELETE', `/v1/volume-snapshots/${await snapshotted(lun.id)}`),
        ],
        [
          'volume-snapshot.revert',
          async () => rest.post<Job>(`/v1/volume-snapshots/${await snapshotted(loose.resource.id)}/revert`),
        ],
        [
          'volume-snapshot.group',
          () =>
            rest.post<Job>('/v1/volume-snapshots/group', {
              // the network disks (a qcow2 file under a running guest is snapshotted by a VM snapshot)
              volumeIds: disks
                .filter((d) => d.volume.poolId !== env.cloud.pools.qcow2)
                .map((d) => d.volume.id),
              name: named('group'),
            }),
        ],
        ['vm.destroy', async () => rest.api.request<Job>('DELETE', `/v1/vms/${await deploy()}`)],
        ['vm.expunge', async () => rest.post<Job>(`/v1/vms/${await destroyed()}/expunge`)],
        [
          'orphans.collect',
          async () => (await strayQcow2Layer(env, `stray-${++n}`), rest.post<Job>('/v1/orphans/collect')),
        ],
      ];
      const failures = await crashEachJobType(t, env, vm.id, cases, pools);
      assert.deepEqual(await invariantProblems(env, vm.id), [], 'the invariants hold at the end');
      assert.deepEqual(failures, []);
    }),
);
