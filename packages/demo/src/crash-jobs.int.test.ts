import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invariantProblems } from './crash-checks.js';
import { crashEachJobType, type JobCase } from './crash-cases.js';
import type { Accepted, JobView } from './rest.js';
import { discardVm } from './discard-vm.js';
import { waitForGuestAgent, type VolumeView } from './story.js';
import { withCrashVm } from './crash-vm.js';
import { agentsKilledMidCopy } from './crash-disk-move.js';

const MiB = 1024 ** 2;

// Crash safety of the volume jobs and of VM stop, start and deploy: a VM on one of two KVM hosts with
// disks on qcow2, tgt and RBD; for each job type, the server SIGKILLed at one of its step
// boundaries (a different one each day; every one with STRATA_CRASH_SWEEP=all). After each: the
// job ends done or undone, the VM's invariants hold (on one host, disks on their backends and the
// ones the domain runs, no orphan, no guest frozen or paused), and no volume is left half-way.
test(
  'crash safety: volume create, attach, resize, QoS, migrate, detach, delete and VM stop, start, deploy: server killed at a step boundary of each',
  { timeout: 3_600_000 },
  (t) =>
    withCrashVm(async ({ cx: env, vm, pools, keep }) => {
      const rest = env.env.rest;
      let n = 0;
      const newVolume = (poolId = env.cloud.pools.tgt) =>
        rest.post<Accepted<VolumeView>>('/v1/volumes', {
          name: `crash "volume" <${++n}> $(id)`,
          poolId,
          sizeBytes: 64 * MiB,
        });
      const made = async (poolId?: string) => {
        const accepted = await newVolume(poolId);
        await rest.waitJob(accepted.job);
        return accepted.resource.id;
      };
      const attached = async (poolId?: string) => {
        const id = await made(poolId);
        await rest.run(`/v1/volumes/${id}/attach`, { vmId: vm.id });
        return id;
      };
      const vmState = async () => (await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state;
      const running = async () => {
        if ((await vmState()) !== 'Running') await rest.run(`/v1/vms/${vm.id}/start`, {});
        await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
      };
      const stopped = async () => {
        if ((await vmState()) === 'Running') await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
      };
      // a volume grows while detached (qcow2 and tgt refuse to grow under a running guest);
      // QoS changes on an attached one
      const resizing = await made();
      const limited = await attached();
      let size = 64 * MiB;
      let iops = 500;
      // moves between tgt and qcow2 under the running guest, one way then the other
      const moving = await attached();
      const otherPool = async () =>
        (await rest.get<{ poolId: string }>(`/v1/volumes/${moving}`)).poolId === env.cloud.pools.tgt
          ? env.cloud.pools.qcow2
          : env.cloud.pools.tgt;
      // each: how to start one job of the type (from a settled state), the job's type
      const cases: JobCase[] = [
        ['volume.create', () => newVolume()],
        [
          'volume.attach',
          async () => rest.post<{ job: JobView }>(`/v1/volumes/${await made()}/attach`, { vmId: vm.id }),
        ],
        [
          'volume.resize',
          () =>
            rest.post<{ job: JobView }>(`/v1/volumes/${resizing}/resize`, { sizeBytes: (size += 64 * MiB) }),
        ],
        [
          'volume.set-qos',
          () =>
            rest.api.request<{ job: JobView }>('PUT', `/v1/volumes/${limited}/qos`, {
              body: { minIops: 100, maxIops: (iops += 100) },
            }),
        ],
        [
          'volume.migrate',
          async () => (
            await running(),
            rest.post<{ job: JobView }>(`/v1/volumes/${moving}/migrate`, { poolId: await otherPool() })
          ),
        ],
        ['volume.detach', async () => rest.post<{ job: JobView }>(`/v1/volumes/${await attached()}/detach`)],
        [
          'volume.delete',
          async () => rest.api.request<{ job: JobView }>('DELETE', `/v1/volumes/${await made()}`),
        ],
        [
          'vm.stop',
          async () => (
            await running(),
            rest.post<{ job: JobView }>(`/v1/vms/${vm.id}/stop`, { forced: true })
          ),
        ],
        [
          'vm.start',
          async () => (await stopped(), rest.post<{ job: JobView }>(`/v1/vms/${vm.id}/start`, {})),
        ],
      ];
      const deployed: Array<Accepted<{ id: string }>> = [];
      const deploy = async () => {
        const accepted = await rest.post<Accepted<{ id: string }>>('/v1/vms/deploy', {
          name: `crash "deploy" <${++n}> $(id)`,
          templateId: env.cloud.templateId,
          poolId: env.cloud.pools.qcow2,
          memoryBytes: 128 * MiB,
          hostId: env.vmHost.id,
          start: true,
        });
        deployed.push(accepted);
        keep(accepted.resource.id);
        return accepted;
      };
      cases.push(['vm.deploy', deploy]);
      const failures = await crashEachJobType(t, env, vm.id, cases, pools);
      const only = process.env['STRATA_CRASH_ONLY']?.split(',');
      if (!only || only.includes('volume.migrate')) {
        const move = async () => (
          await running(),
          rest.post<{ job: JobView }>(`/v1/volumes/${moving}/migrate`, { poolId: await otherPool() })
        );
        failures.push(...(await agentsKilledMidCopy(t, env, vm.id, move, pools)));
      }
      // each deployed VM (the probe's and the crashed ones'): on one host, its ROOT on its backend
      for (const d of deployed) {
        for (const p of await invariantProblems(env, d.resource.id))
          failures.push(`deployed ${d.resource.id}: ${p}`);
        await discardVm(rest, d.resource.id);
      }
      await running();
      assert.deepEqual(await invariantProblems(env, vm.id), [], 'the invariants hold at the end');
      assert.deepEqual(failures, []);
    }),
);
