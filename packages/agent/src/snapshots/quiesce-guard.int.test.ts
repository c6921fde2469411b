import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName, waitForGuestAgent } from '@strata/testing';
import { fsfreezeStatus } from '../test-support/fsfreeze-status.js';
import { startGuestVm } from '../test-support/guest-vm.js';

const run = promisify(execFile);

const DEADLINE_MS = 3_000;
const watchdogsOf = async (vm: string) =>
  (await run('pgrep', ['-f', `strata-deadline-watchdog .* ${vm} `]).catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .filter(Boolean);

// libvirt's own quiesce (`snapshot-create --quiesce`) freezes the guest, makes the overlays and
// thaws inside one call; the agent guards that call with the freeze deadline's watchdog, hold record
// and timer (FreezeManager.guarded), armed before it. A real cut through the guard leaves nothing
// armed. Then a call that freezes the real guest and hangs past the deadline (what a libvirt stuck
// inside its call looks like from the guest): the guard thaws the guest at the deadline while the
// call still runs. (A hang that blocks libvirtd itself, such as a frozen host filesystem under the
// overlay, blocks every thaw through libvirt too: no watchdog can help there.)
void test(
  "libvirt's --quiesce cut runs guarded by the deadline's watchdog, which thaws a guest whose call hangs",
  { timeout: 300_000 },
  async (t) => {
    const vm = await startGuestVm({ name: uniqueName('agent-quiesce-guard') });
    try {
      await waitForGuestAgent(vm.name, 90_000);
      const overlay = join(vm.dir, 'guarded.qcow2');
      const cut = await vm.agent.diskOnlySnapshot(vm.name, [{ target: 'vda', overlayPath: overlay }], {
        quiesce: true,
        deadlineMs: DEADLINE_MS,
      });
      t.diagnostic(`guarded --quiesce cut: ${cut.snapshotMs.toFixed(0)} ms`);
      assert.equal((await vm.agent.vmState(vm.name)).disks.find((d) => d.target === 'vda')?.source, overlay);
      assert.equal(await fsfreezeStatus(vm.name), 'thawed');
      assert.deepEqual(vm.agent.freezes.status(), [], 'no freeze held after the cut');
      assert.deepEqual(await watchdogsOf(vm.name), [], 'its watchdog is gone');
      await vm.agent.blockCommit(vm.name, 'vda');

      const started = Date.now();
      let frozenInside = false;
      const call = vm.agent.freezes.guarded(vm.name, DEADLINE_MS, async () => {
        await run('virsh', ['-c', 'qemu:///system', 'domfsfreeze', '--domain', vm.name]);
        frozenInside = true;
        await new Promise((r) => setTimeout(r, DEADLINE_MS + 5_000));
        return 0;
      });
      let thawedAt = 0;
      while (Date.now() < started + DEADLINE_MS + 4_000) {
        if (frozenInside && (await fsfreezeStatus(vm.name)) === 'thawed') {
          thawedAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      t.diagnostic(`a hanging call: the guest thawed ${thawedAt - started} ms after the guard was armed`);
      assert.ok(frozenInside, 'the call froze the guest');
      assert.ok(thawedAt > 0 && thawedAt - started <= DEADLINE_MS + 1_000, 'thawed by the deadline (+1 s)');
      assert.ok(thawedAt < started + DEADLINE_MS + 5_000, 'while the call still ran');
      await call;
      assert.deepEqual(vm.agent.freezes.status(), []);
      assert.deepEqual(await watchdogsOf(vm.name), [], 'no watchdog left');
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
    } finally {
      await vm.dispose();
    }
  },
);
