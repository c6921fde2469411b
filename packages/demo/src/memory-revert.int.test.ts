import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkOrder, guestExec, mergeBySeq } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import type { Accepted, JobView } from './rest.js';
import { buildDemoVm, readAll, waitForGuestAgent, type SnapshotView } from './story.js';
import { discardVm } from './discard-vm.js';
import { commonPrefix } from './torture-round.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function uptimeS(domain: string): Promise<number> {
  // right after a restore, libvirt reconnects to the guest agent's channel: wait for it
  await waitForGuestAgent(domain);
  const r = await guestExec(domain, 'cat /proc/uptime');
  return Number(r.stdout.split(' ')[0]);
}

// Issue 4: a memory snapshot brings back the running state. A VM on qcow2, tgt and RBD disks, with
// its memory saved in a snapshot; reverted (once stopped, once running with restart=true) it comes
// back Running from that memory, without a reboot, and its writer carries on from the snapshot.
test(
  'memory snapshot: revert restores the running guest from its memory, no reboot, the writer continues',
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'strata-memrevert-'));
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
      const { vm, disks } = await buildDemoVm(rest, env.backends, env.cloud, log);
      vmId = vm.id;
      await waitForGuestAgent(vm.id);
      await sleep(8_000);
      const upBefore = await uptimeS(vm.id);
      // How the revert brought the VM back, as its vm-running step recorded it.
      const resumed = async (job: JobView) =>
        (
          await rest.get<Array<{ name: string; output: { resumed?: string } | null }>>(
            `/v1/jobs/${job.id}/steps`,
          )
        ).find((st) => st.name === 'vm-running')?.output?.resumed;

      const made = await rest.run<SnapshotView>('/v1/vm-snapshots', {
        vmId: vm.id,
        name: 'with memory <running> & "writing"',
        snapshotMemory: true,
      });
      const snap = await rest.get<SnapshotView & { type: string }>(`/v1/vm-snapshots/${made.resource.id}`);
      assert.equal(snap.type, 'DiskAndMemory');
      assert.equal(snap.state, 'Ready');
      assert.equal(snap.consistency, 'crash', 'no freeze with memory: the disks alone are crash-consistent');
      log(`memory snapshot ${snap.id}: ${snap.strategy}, ${snap.consistency}, held ${snap.freezeMs} ms`);
      await sleep(4_000);
      await rest.run(`/v1/vms/${vm.id}/stop`);
      const history = mergeBySeq(...(await readAll(rest, disks)).values());
      const lastAtStop = history.at(-1)?.seq ?? 0;

      // A stopped VM reverted to a memory snapshot comes back running from that memory.
      const first = await rest.run<SnapshotView>(`/v1/vm-snapshots/${snap.id}/revert`);
      assert.equal(await resumed(first.job), 'restored');
      assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
      const upRestored = await uptimeS(vm.id);
      log(`guest uptime ${upBefore} s before the snapshot, ${upRestored} s right after the restore`);
      assert.ok(upRestored >= upBefore, 'the guest was restored, not rebooted: its uptime carried on');

      // A running VM is reverted only when the caller asks for the restart.
      await sleep(3_000);
      await assert.rejects(
        rest.post(`/v1/vm-snapshots/${snap.id}/revert`),
        (e: unknown) => (e as { code?: string }).code === 'REVERT_NEEDS_STOP',
      );
      const accepted = await rest.api.request<Accepted<SnapshotView>>(
        'POST',
        `/v1/vm-snapshots/${snap.id}/revert`,
        {
          query: { restart: true },
          body: {},
        },
      );
      const second: JobView = await rest.waitJob(accepted.job);
      assert.equal(await resumed(second), 'restored');
      assert.equal((await rest.get<{ state: string }>(`/v1/vms/${vm.id}`)).state, 'Running');
      assert.ok((await uptimeS(vm.id)) >= upBefore, 'restored again, not rebooted');

      await sleep(4_000);
      await rest.run(`/v1/vms/${vm.id}/stop`);
      const after = mergeBySeq(...(await readAll(rest, disks)).values());
      const order = checkOrder(after);
      const cut = commonPrefix(after, history);
      log(
        `history to #${lastAtStop}; after the reverts: #1..#${order.last}, the first ${cut} as before the snapshot`,
      );
      for (const l of lines) t.diagnostic(l);
      assert.ok(order.ok, `one ordered sequence after the restore: ${JSON.stringify(order).slice(0, 300)}`);
      assert.deepEqual(
        order.missing,
        [],
        'no write missing: the writer went on from where the memory left it',
      );
      assert.equal(order.first, 1);
      assert.ok(cut > 0, 'the writes before the snapshot are all there');
      assert.ok(cut < lastAtStop, 'the writes made after the snapshot are gone');
      assert.ok(order.last > cut, 'the restored writer carried on past the snapshot point');
      const next = after.find((r) => r.seq === cut + 1);
      const discarded = history.find((r) => r.seq === cut + 1);
      assert.ok(
        next && discarded && next.timeUs !== discarded.timeUs,
        'write #cut+1 was made again after the restore',
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.join('\n')}`, { cause: e });
    } finally {
      await discardVm(env?.rest, vmId);
      for (const c of children) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
