import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import { test } from 'node:test';
import { invariantProblems } from './crash-checks.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import { boundaries, crashSeries, describeOutcome, failuresOf, progress, stepNames } from './crash-run.js';
import { crashSample, describeSample } from './crash-sample.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView } from './story.js';

const DELETE = 'vm-snapshot.delete';

// Crash safety of VM-snapshot delete on a running VM with disks on qcow2, tgt iSCSI and Ceph RBD:
// each case deletes the newest snapshot, the server SIGKILLed at step boundaries (crash-sample.ts:
// a sample in CI, every one in bench/crash-sweep); after each
// restart the job ends and issue 4's invariants hold. Its qcow2 layers are merged by a live block
// commit, or, once the chain-depth policy has flattened the chain, dropped from off the active chain.
test(
  'crash safety: VM-snapshot delete, server killed at step boundaries (sampled; all: STRATA_CRASH_SWEEP=all)',
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
      const stack: SnapshotView[] = [];
      const snap = async (name: string) =>
        stack.push(
          (await rest.run<SnapshotView>('/v1/vm-snapshots', { vmId: vm.id, name, quiesce: 'hypervisor' }))
            .resource,
        );
      await snap('first');
      const del = (s: SnapshotView) =>
        rest.api.request<{ job: { id: string; type: string; state: string; result: unknown; error: null } }>(
          'DELETE',
          `/v1/vm-snapshots/${s.id}`,
        );
      const first = await rest.waitJob((await del(stack.pop()!)).job);
      const steps = await stepNames(env, first.id);
      t.diagnostic(`delete steps: ${steps.map((x) => x.name + (x.transactional ? ' (tx)' : '')).join(', ')}`);
      const sample = crashSample(boundaries(steps));
      t.diagnostic(describeSample(sample));
      const points = sample.points;
      for (let i = 0; i < points.length; i++) await snap(`s${i}`);
      assert.deepEqual(await invariantProblems(env, vm.id), [], 'the invariants hold before any crash');

      const outcomes = await crashSeries(
        env,
        vm.id,
        DELETE,
        points,
        () => del(stack.pop()!),
        (o) => progress(t, describeOutcome(o)),
      );
      assert.deepEqual(failuresOf(outcomes), []);
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
