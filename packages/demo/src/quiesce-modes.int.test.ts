import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bringUp, type Environment } from './demo.js';
import { buildDemoVm, readAll, waitForGuestAgent, type SnapshotView } from './story.js';
import { checkRevert, stallInWindow } from './torture-checks.js';
import { guestClockOffsetUs } from './torture-clock.js';
import { guestHeld } from './torture-residue.js';
import { discardVm } from './discard-vm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MODES = [
  { quiesce: 'pause', consistency: 'crash', holds: true },
  { quiesce: 'none', consistency: 'crash', holds: false },
  // auto on a running VM with its guest-agent channel is guest: a filesystem freeze
  { quiesce: 'auto', consistency: 'filesystem', holds: true },
] as const;

// Issue 4: the quiesce modes pause, none and auto through the REST API on a real guest with disks
// on qcow2, tgt and RBD: the consistency each records, its hold and cut spread, the VM running
// and released afterwards; then each reverted and checked write by write (none too: an atomic overlay is one point in time).
test(
  'quiesce pause, none and auto: consistency, hold window, cut spread, guest released',
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'strata-quiesce-'));
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    let env: Environment | undefined;
    let vmId: string | undefined;
    let failed = false;
    try {
      const port = 19_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log,
        track: (c) => children.push(c),
      });
      const { rest } = env;
      const { vm, disks } = await buildDemoVm(rest, env.backends, env.cloud, log);
      vmId = vm.id;
      await waitForGuestAgent(vm.id);
      await sleep(2_000);

      type Clock = Awaited<ReturnType<typeof guestClockOffsetUs>>;
      const taken: Array<{
        mode: (typeof MODES)[number];
        snap: SnapshotView;
        fromUs: number;
        toUs: number;
        clock: Clock;
      }> = [];
      for (const mode of MODES) {
        // Read before every snapshot: the guest's clock stands still while its vCPUs are paused,
        // so after a pause it runs behind by about the pause.
        const clock = await guestClockOffsetUs(vm.id);
        const fromUs = Date.now() * 1000;
        const r = await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: `quiesce ${mode.quiesce} <'x'>`,
          quiesce: mode.quiesce,
        });
        const toUs = Date.now() * 1000;
        const snap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${r.resource.id}`);
        const steps = await rest.get<Array<{ name: string; output: { quiesce?: string } | null }>>(
          `/v1/jobs/${r.job.id}/steps`,
        );
        const resolved = steps.find((st) => st.name === 'plan')?.output?.quiesce;
        log(
          `${mode.quiesce}: resolved ${resolved}, ${snap.consistency}, held ${snap.freezeMs?.toFixed(1)} ms, spread ${snap.cutSpreadMs?.toFixed(1)} ms`,
        );
        assert.equal(snap.state, 'Ready');
        assert.equal(snap.consistency, mode.consistency, `${mode.quiesce} records ${mode.consistency}`);
        assert.equal(typeof snap.cutSpreadMs, 'number', 'the cut spread is recorded');
        assert.ok((snap.cutSpreadMs ?? -1) >= 0);
        if (mode.holds)
          assert.ok((snap.freezeMs ?? 0) > 0, `${mode.quiesce} records how long it held the guest`);
        else assert.equal(snap.freezeMs, 0, 'none holds nothing');
        assert.equal(
          resolved,
          mode.quiesce === 'auto' ? 'guest' : mode.quiesce,
          'the plan names the hold it used',
        );
        assert.deepEqual(
          await guestHeld(vm.id),
          { state: 'running', fsfreeze: 'thawed' },
          'released afterwards',
        );
        assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
        taken.push({ mode, snap, fromUs, toUs, clock });
        await sleep(1_500);
      }

      await rest.run(`/v1/vms/${vm.id}/stop`);
      const history = await readAll(rest, disks);
      const problems: string[] = [];
      for (const s of taken) {
        await rest.run(`/v1/vm-snapshots/${s.snap.id}/revert`);
        const verdict = checkRevert(await readAll(rest, disks), history);
        const slack = s.clock.errorUs + 250_000;
        const stall = stallInWindow(
          history,
          { fromUs: s.fromUs + s.clock.offsetUs - slack, toUs: s.toUs + s.clock.offsetUs + slack },
          100,
          s.snap.freezeMs ?? undefined,
        );
        log(
          `revert ${s.mode.quiesce}: last write #${verdict.lastSeq}; writer stall ${stall?.gapMs.toFixed(0) ?? 'none'} ms (recorded hold ${s.snap.freezeMs?.toFixed(0)} ms); ${verdict.problems.join('; ') || 'order kept'}`,
        );
        // Every mode cuts all disks with one atomic overlay (pause and auto holding the guest only
        // around it, none not at all): each is one point in time, so cross-disk order holds in all.
        for (const p of verdict.problems) problems.push(`${s.mode.quiesce}: ${p}`);
        // A freeze blocks the running writer: its records show the gap. A pause stops the guest's
        // clock with its vCPUs, so the records made around it can be as close as any others.
        if (s.mode.quiesce === 'auto' && (s.snap.freezeMs ?? 0) > 250 && !stall)
          problems.push(`${s.mode.quiesce}: no writer stall while it held the guest`);
      }
      for (const l of lines) t.diagnostic(l);
      assert.deepEqual(problems, []);
    } catch (e) {
      failed = true;
      throw new Error(`${(e as Error).message}\n--- log (files in ${root}) ---\n${lines.join('\n')}`, {
        cause: e,
      });
    } finally {
      await discardVm(env?.rest, vmId);
      for (const c of children) c.kill('SIGKILL');
      // a failed run keeps its server and agent logs for a look
      if (!failed) await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
