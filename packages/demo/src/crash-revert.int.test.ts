import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import { test } from 'node:test';
import { domState, invariantProblems, waitJobEnd } from './crash-checks.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import { boundaries, crashSeries, describeOutcome, failuresOf, progress, stepNames } from './crash-run.js';
import { crashSample, describeSample } from './crash-sample.js';
import type { Accepted, Rest } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView } from './story.js';

const REVERT = 'vm-snapshot.revert';

/** Waits until the server sees the host in `state` (its agent connected or gone). */
async function waitHostState(rest: Rest, hostId: string | null, state: string): Promise<void> {
  assert.ok(hostId, 'the VM runs on a host');
  const end = Date.now() + 60_000;
  for (;;) {
    const host = await rest.get<{ state: string }>(`/v1/hosts/${hostId}`);
    if (host.state === state) return;
    if (Date.now() > end) throw new Error(`host ${hostId} still ${host.state}, not ${state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Crash safety of VM-snapshot revert of a running VM (stopped and started again by the job) with
// disks on qcow2, tgt iSCSI and Ceph RBD: the server SIGKILLed at step boundaries (crash-sample.ts:
// a sample in CI, every one in bench/crash-sweep); after each
// restart the job ends and issue 4's invariants hold. Then a revert and a stop with the agent down.
test(
  'crash safety: VM-snapshot revert, server killed at step boundaries (sampled; all: STRATA_CRASH_SWEEP=all); revert and stop with the agent down',
  { timeout: 3_600_000 },
  async (t) => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    let cx: CrashEnv | undefined;
    const vms: string[] = [];
    let failed = true;
    try {
      cx = await crashEnvironment(log);
      const env = cx;
      const rest = env.env.rest;
      const { vm } = await buildDemoVm(rest, env.backends, env.cloud, log, env.vmHost);
      vms.push(vm.id);
      await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
      // no writer history is read here: a slow writer keeps the guest from holding a CPU
      await setWriterInterval(vm.id, 1, await env.uriOf(vm.id));
      const snap = async (name: string) =>
        (await rest.run<SnapshotView>('/v1/vm-snapshots', { vmId: vm.id, name, quiesce: 'hypervisor' }))
          .resource;
      const targets = [await snap('a'), await snap('b')];
      const revert = (s: SnapshotView) =>
        rest.api.request<Accepted<SnapshotView>>('POST', `/v1/vm-snapshots/${s.id}/revert`, {
          query: { restart: true },
        });

      const first = await rest.waitJob((await revert(targets[0]!)).job);
      const steps = await stepNames(env, first.id);
      t.diagnostic(`revert steps: ${steps.map((x) => x.name + (x.transactional ? ' (tx)' : '')).join(', ')}`);
      assert.deepEqual(await invariantProblems(env, vm.id), [], 'the invariants hold before any crash');

      let n = 0;
      const sample = crashSample(boundaries(steps));
      t.diagnostic(describeSample(sample));
      const outcomes = await crashSeries(
        env,
        vm.id,
        REVERT,
        sample.points,
        () => revert(targets[++n % 2]!),
        (o) => progress(t, describeOutcome(o)),
      );
      assert.deepEqual(failuresOf(outcomes), []);

      // With the agent down, a revert that must stop the VM and a plain stop both fail: the VM is
      // left Running (its domain still runs), not Stopping, and the snapshot Ready. Once the
      // agent is back, the same stop works.
      await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
      const { hostId } = await rest.get<{ hostId: string | null }>(`/v1/vms/${vm.id}`);
      env.killAgent();
      await waitHostState(rest, hostId, 'Disconnected');
      const refused = await waitJobEnd(rest, (await revert(targets[0]!)).job.id);
      const stop = await rest.post<Accepted<unknown>>(`/v1/vms/${vm.id}/stop`);
      const stopRefused = await waitJobEnd(rest, stop.job.id);
      for (const [what, job] of [
        ['revert', refused],
        ['stop', stopRefused],
      ] as const) {
        t.diagnostic(`${what} with the agent down: ${job.state} ${job.error?.code}`);
        assert.equal(job.state, 'Failed', `the ${what} failed`);
        assert.equal(job.error?.code, 'UNAVAILABLE', `the ${what} says the agent is unavailable`);
      }
      assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
      assert.equal(await domState(vm.id, await env.uriOf(vm.id)), 'running');
      const after = await rest.get<SnapshotView>(`/v1/vm-snapshots/${targets[0]!.id}`);
      assert.equal(after.state, 'Ready', 'the snapshot can still be reverted to');
      await env.startAgent();
      await waitHostState(rest, hostId, 'Up');
      assert.deepEqual(await invariantProblems(env, vm.id), []);
      await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
      assert.equal(await domState(vm.id, await env.uriOf(vm.id)), 'shut off');
      failed = false;
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- log ---\n${lines.join('\n')}\n--- server ---\n${await cx?.tail()}\n(files kept in ${cx?.root})`,
        {
          cause: e,
        },
      );
    } finally {
      await cx?.close(vms, failed);
    }
  },
);
