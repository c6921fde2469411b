import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invariantProblems } from './crash-checks.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import { boundaries, crashSeries, describeOutcome, failuresOf, progress, stepNames } from './crash-run.js';
import type { Accepted } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView } from './story.js';

const REVERT = 'vm-snapshot.revert';

// Crash safety of VM-snapshot revert of a running VM (stopped and started again by the job) with
// disks on qcow2, tgt iSCSI and Ceph RBD: the server SIGKILLed at every step boundary; after each
// restart the job ends and issue 4's invariants hold.
test(
  'crash safety: VM-snapshot revert, server killed at every step boundary',
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
      const { vm } = await buildDemoVm(rest, env.backends, env.cloud, log);
      vms.push(vm.id);
      await waitForGuestAgent(vm.id);
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
      const outcomes = await crashSeries(
        env,
        vm.id,
        REVERT,
        boundaries(steps),
        () => revert(targets[++n % 2]!),
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
