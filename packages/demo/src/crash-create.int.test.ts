import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import { test } from 'node:test';
import { fsfreezeStatus, invariantProblems, waitJobEnd } from './crash-checks.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import { boundaries, crashSeries, describeOutcome, failuresOf, progress, stepNames } from './crash-run.js';
import { readyBeforeCommitBack } from './crash-commit-back.js';
import { crashSample, describeSample } from './crash-sample.js';
import type { Accepted } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView } from './story.js';

const CREATE = 'vm-snapshot.create';
const HOLD_DEADLINE_MS = 5_000; // the server's guest hold deadline (vmsnapshots/create-job.ts)

// Crash safety of VM-snapshot create on a running VM with disks on qcow2, tgt iSCSI and Ceph RBD:
// the server SIGKILLed at step boundaries (crash-sample.ts: a sample in CI, every one in
// bench/crash-sweep), then the agent SIGKILLed while the guest is frozen
// for the cut. After each, the job ends (done or compensated) and issue 4's invariants hold.
test(
  'crash safety: VM-snapshot create, server killed at step boundaries (sampled; all: STRATA_CRASH_SWEEP=all), agent killed mid-cut',
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
      // Hypervisor mode: one atomic overlay over every disk, the drivers' parts taken after it, the
      // snapshot recorded Ready, then the transient overlays over the network disks committed back.
      const take = (name: string, quiesce: 'hypervisor' | 'guest' = 'hypervisor') =>
        rest.post<Accepted<SnapshotView>>('/v1/vm-snapshots', { vmId: vm.id, name, quiesce });

      const first = await rest.run<SnapshotView>('/v1/vm-snapshots', {
        vmId: vm.id,
        name: 'baseline',
        quiesce: 'hypervisor',
      });
      const steps = await stepNames(env, first.job.id);
      t.diagnostic(`create steps: ${steps.map((x) => x.name + (x.transactional ? ' (tx)' : '')).join(', ')}`);
      assert.deepEqual(await invariantProblems(env, vm.id), [], 'the invariants hold before any crash');

      // The snapshot is Ready before its commit-back, and the VM's next job waits for that.
      for (const line of await readyBeforeCommitBack(env, vm.id, (name) => take(name))) t.diagnostic(line);

      const all = boundaries(steps);
      const sample = crashSample(all);
      t.diagnostic(describeSample(sample));
      // Always a server killed during the commit-back (a Ready snapshot): the restart finishes it.
      const duringCommitBack = all.find(([step, b]) => step === 'commit-back' && b === 'before');
      assert.ok(duringCommitBack, 'the create has a commit-back step');
      const points = all.filter((p) => sample.points.includes(p) || p === duringCommitBack);
      const outcomes = await crashSeries(
        env,
        vm.id,
        CREATE,
        points,
        ([step, boundary]) => take(`crash ${step} ${boundary}`),
        (o) => progress(t, describeOutcome(o)),
      );
      assert.deepEqual(failuresOf(outcomes), []);
      const resumed = outcomes.find((o) => o.point === `${CREATE}:commit-back:before`)!;
      assert.equal(resumed.job.state, 'Succeeded', 'a commit-back cut short is finished, not undone');
      const { vmSnapshotId } = resumed.job.result as { vmSnapshotId: string };
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${vmSnapshotId}`)).state, 'Ready');

      // The agent dies while the guest is frozen: its watchdog (adopted by the next agent) thaws it.
      let seen: { frozenAt: number; thawedAt: number; jobId: string } | undefined;
      for (let attempt = 1; attempt <= 5 && !seen; attempt++) {
        await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
        const accepted = await take(`agent killed mid-cut ${attempt}`, 'guest');
        const end = Date.now() + 60_000;
        let frozenAt = 0;
        while (Date.now() < end && frozenAt === 0) {
          if ((await fsfreezeStatus(vm.id, env.vmHost.uri)) === 'frozen') frozenAt = Date.now();
          const j = await rest.get<{ state: string }>(`/v1/jobs/${accepted.job.id}`);
          if (frozenAt === 0 && (j.state === 'Succeeded' || j.state === 'Failed')) break;
        }
        if (frozenAt === 0) {
          t.diagnostic(`attempt ${attempt}: the cut ended before a freeze was seen; again`);
          continue;
        }
        env.killAgent();
        let thawedAt = 0;
        while (thawedAt === 0 && Date.now() < frozenAt + 30_000) {
          if ((await fsfreezeStatus(vm.id, env.vmHost.uri)) === 'thawed') thawedAt = Date.now();
          else await new Promise((r) => setTimeout(r, 100));
        }
        seen = { frozenAt, thawedAt, jobId: accepted.job.id };
      }
      assert.ok(seen, 'a freeze was seen in one of five cuts');
      const window = seen.thawedAt - seen.frozenAt;
      t.diagnostic(`agent killed while frozen: thawed ${window} ms after the freeze was seen`);
      assert.ok(
        seen.thawedAt > 0 && window <= HOLD_DEADLINE_MS + 1_000,
        `the guest thawed within the deadline + 1 s (${window} ms)`,
      );
      await env.startAgent();
      const job = await waitJobEnd(rest, seen.jobId);
      t.diagnostic(`the cut's job ended ${job.state} ${job.error?.code ?? ''}`);
      assert.ok(job.state === 'Succeeded' || job.state === 'Failed');
      assert.notEqual(job.error?.code, 'JOB_COMPENSATION_FAILED', 'a failed cut was undone');
      assert.deepEqual(await invariantProblems(env, vm.id), []);
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
