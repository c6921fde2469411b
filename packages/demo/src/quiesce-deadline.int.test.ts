import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bringUp, type Environment } from './demo.js';
import type { Accepted, Page } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView, type VolumeView } from './story.js';
import { diskSources, guestHeld, residue } from './torture-residue.js';
import { discardVm } from './discard-vm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Issue 4: a guest hold that outlives its deadline fails the cut with a code, leaves the guest
// running and thawed, and leaves nothing behind. The server is told to plan every hold with a
// 1 ms deadline (STRATA_HOLD_DEADLINE_MS): no cut of three backends fits in it, so the outcome
// does not depend on the machine's speed.
test(
  'a hold past its deadline: HOLD_EXPIRED (pause), a freeze cut short (guest); guest released, nothing half-done',
  { timeout: 900_000 },
  async (t) => {
    process.env['STRATA_HOLD_DEADLINE_MS'] = '1';
    const root = await mkdtemp(join(tmpdir(), 'strata-deadline-'));
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    let env: Environment | undefined;
    let vmId: string | undefined;
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
      const { vm } = await buildDemoVm(rest, env.backends, env.cloud, log);
      vmId = vm.id;
      await waitForGuestAgent(vm.id);
      // no writer history is read here: a slow writer keeps the guest from holding a CPU
      await setWriterInterval(vm.id, 1);
      await sleep(2_000);
      const volumes = async () =>
        (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id })).items
          .map((v) => `${v.id} ${v.backendRef}`)
          .sort();
      const rbdSpecs = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id })).items
        .filter((v) => v.poolId === env?.cloud.pools.rbd)
        .map((v) => v.backendRef ?? '');

      const expected = { pause: ['HOLD_EXPIRED'], guest: ['GUEST_FREEZE_FAILED', 'HOLD_EXPIRED'] };
      for (const quiesce of ['pause', 'guest'] as const) {
        const sourcesBefore = await diskSources(vm.id);
        const volumesBefore = await volumes();
        const rbdBefore: string[] = (await residue(env.backends, 'none', rbdSpecs)).rbdSnaps;
        const a = await rest.post<Accepted<SnapshotView>>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: `held too long <${quiesce}>`,
          quiesce,
        });
        const failure = await rest.waitJob(a.job).then(
          () => 'succeeded',
          (e: Error) => e.message,
        );
        log(`${quiesce}: ${failure}`);
        assert.ok(
          expected[quiesce].some((code) => failure.includes(`: ${code}:`)),
          `${quiesce} with a 1 ms deadline fails with ${expected[quiesce].join(' or ')}: ${failure}`,
        );
        const snap = await rest.get<SnapshotView>(`/v1/vm-snapshots/${a.resource.id}`);
        assert.equal(snap.state, 'Error', 'the snapshot is marked Error, not left Creating');
        assert.deepEqual(await guestHeld(vm.id), { state: 'running', fsfreeze: 'thawed' });
        assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
        const left = await residue(env.backends, a.resource.id, rbdSpecs);
        assert.deepEqual(
          left.files,
          [],
          'no overlay, backend snapshot or memory file of the failed cut remains',
        );
        assert.deepEqual(left.rbdSnaps, rbdBefore, 'no RBD snapshot of the failed cut remains');
        assert.deepEqual(
          await diskSources(vm.id),
          sourcesBefore,
          'every disk runs on the layer it ran on before',
        );
        assert.deepEqual(await volumes(), volumesBefore, 'the database names the same layers');
      }

      // The VM is whole: a cut that holds the guest only inside libvirt's one operation still succeeds.
      const ok = await rest.run<SnapshotView>('/v1/vm-snapshots', {
        vmId: vm.id,
        name: 'after the failures',
        quiesce: 'hypervisor',
      });
      const after = await rest.get<SnapshotView>(`/v1/vm-snapshots/${ok.resource.id}`);
      assert.equal(after.state, 'Ready');
      for (const l of lines) t.diagnostic(l);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.join('\n')}`, { cause: e });
    } finally {
      delete process.env['STRATA_HOLD_DEADLINE_MS'];
      await discardVm(env?.rest, vmId);
      for (const c of children) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
