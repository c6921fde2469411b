import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName, waitForGuestAgent } from '@strata/testing';
import { boostGuest, boostHold } from '../guest/hold-boost.js';
import { fsfreezeStatus } from '../test-support/fsfreeze-status.js';
import { startGuestVm } from '../test-support/guest-vm.js';

// snapshot.heldCut on a real guest: the hold (freeze or pause) and its release around one atomic
// disk-only snapshot, on the host; a cut that fails still releases the guest at once.
void test(
  'a held cut freezes or pauses the guest around one atomic overlay, and releases it even when the cut fails',
  { timeout: 300_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-heldcut') });
    try {
      await waitForGuestAgent(vm.name, 90_000);
      for (const hold of ['guest', 'pause'] as const) {
        const overlay = join(vm.dir, `held-${hold}.qcow2`);
        const r = await vm.agent.heldCut(vm.name, hold, 5_000, [{ target: 'vda', overlayPath: overlay }]);
        assert.ok(r.heldMs > 0 && r.heldMs < 5_000, `${hold}: held ${r.heldMs} ms`);
        assert.ok(
          r.snapshotMs <= r.heldMs + 1,
          `${hold}: the snapshot (${r.snapshotMs} ms) fell inside the hold`,
        );
        await access(overlay);
        const state = await vm.agent.vmState(vm.name);
        assert.equal(state.state, 'running', `${hold}: running after`);
        assert.equal(
          state.disks.find((d) => d.target === 'vda')?.source,
          overlay,
          `${hold}: vda on its overlay`,
        );
        assert.deepEqual(vm.agent.freezes.status(), [], `${hold}: no freeze held`);
        assert.deepEqual(vm.agent.pauses.status(), [], `${hold}: no pause held`);
        if (hold === 'guest') assert.equal(await fsfreezeStatus(vm.name), 'thawed');
      }
      // A 1 ms deadline: the manager's timer or the watchdog lets the guest go before the cut ends,
      // and the hold reported still spans the cut, so the server refuses it (HOLD_EXPIRED).
      for (const hold of ['guest', 'pause'] as const) {
        const overlay = join(vm.dir, `expired-${hold}.qcow2`);
        const r = await vm.agent
          .heldCut(vm.name, hold, 1, [{ target: 'vda', overlayPath: overlay }])
          .catch((e: Error) => e);
        if (r instanceof Error) assert.match(r.message, /freeze|thaw/i, `${hold}: ${r.message}`);
        else assert.ok(r.heldMs >= r.snapshotMs && r.heldMs > 1, `${hold}: reported ${r.heldMs} ms`);
        assert.equal((await vm.agent.vmState(vm.name)).state, 'running', `${hold}: running after`);
      }
      // An overlay file that exists already: libvirt refuses the snapshot inside the hold (it never
      // overwrites); the guest is let go at once all the same.
      const taken = join(vm.dir, 'taken.qcow2');
      await writeFile(taken, 'not an overlay');
      for (const hold of ['guest', 'pause'] as const) {
        await assert.rejects(vm.agent.heldCut(vm.name, hold, 5_000, [{ target: 'vda', overlayPath: taken }]));
        assert.equal(
          (await vm.agent.vmState(vm.name)).state,
          'running',
          `${hold}: running after a failed cut`,
        );
        assert.deepEqual(vm.agent.pauses.status(), []);
        assert.deepEqual(vm.agent.freezes.status(), []);
        if (hold === 'guest') assert.equal(await fsfreezeStatus(vm.name), 'thawed');
      }
    } finally {
      await vm.dispose();
    }
  },
);

/** The nice value of every thread of a guest's QEMU process. */
async function qemuNices(vm: string): Promise<number[]> {
  const pid = (await readFile(`/run/libvirt/qemu/${vm}.pid`, 'utf8')).trim();
  return (await readdir(`/proc/${pid}/task`)).map((tid) => getPriority(Number(tid)));
}

void test(
  "a held guest's QEMU threads run at a raised priority, and go back after",
  { timeout: 180_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-boost') });
    try {
      const before = await qemuNices(vm.name);
      assert.ok(
        before.length > 1 && before.every((n) => n === 0),
        `normal priority first: ${before.join(',')}`,
      );
      const boost = await boostGuest(vm.name);
      const during = await qemuNices(vm.name);
      assert.ok(
        during.every((n) => n === -10),
        `boosted: ${during.join(',')}`,
      );
      boost.restore();
      assert.deepEqual(await qemuNices(vm.name), before);
      // A hold raises this agent's event loop too, counted: the second hold's end lowers it.
      const self = getPriority(0);
      const first = await boostHold(vm.name);
      const second = await boostHold(vm.name);
      assert.equal(getPriority(0), -10, 'the agent runs raised while held');
      assert.ok((await qemuNices(vm.name)).every((n) => n === -10));
      first.restore();
      assert.equal(getPriority(0), -10, 'still raised: the other hold goes on');
      second.restore();
      assert.equal(getPriority(0), self, 'back after the last');
      assert.deepEqual(await qemuNices(vm.name), before);
      const unknown = await boostGuest('no-such-vm');
      unknown.restore();
    } finally {
      await vm.dispose();
    }
  },
);
