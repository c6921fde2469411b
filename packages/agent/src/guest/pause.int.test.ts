import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '@strata/testing';
import { startGuestVm } from '../test-support/guest-vm.js';

const DEADLINE_MS = 3000;

// While paused the guest's own clock stands still (TCG's virtual clock stops), so the writer
// cannot show the pause: libvirt's Suspended/Resumed lifecycle events time it instead.

void test(
  'a pause whose resume never comes is resumed within deadline + 1 s; a requested resume ends it early',
  { timeout: 180_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-pause') });
    try {
      const resumedEvent = vm.agent.events.waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm.name && e.event === 'Resumed',
        20_000,
      );
      const resumeErrors: string[] = [];
      vm.agent.pauses.on('resume-error', (e: { err: unknown }) => resumeErrors.push(String(e.err)));
      const t0 = Date.now();
      await vm.agent.pause(vm.name, DEADLINE_MS);
      assert.equal((await vm.agent.vmState(vm.name)).state, 'paused');
      assert.deepEqual(
        vm.agent.pauses.status().map((p) => p.vm),
        [vm.name],
      );
      assert.ok((await resumedEvent) !== undefined, 'Resumed event');
      const heldMs = Date.now() - t0;
      assert.ok(heldMs >= DEADLINE_MS - 200 && heldMs <= DEADLINE_MS + 1000, `paused for ${heldMs} ms`);
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
      // libvirt's event can come before the agent's own resume call returns (or the watchdog's
      // resume came first and the agent's call is still on its way): the agent lets go of the
      // pause a moment later, never not at all.
      const forgetBy = Date.now() + 10_000;
      while (vm.agent.pauses.status().length > 0 && Date.now() < forgetBy) await sleep(50);
      assert.deepEqual(vm.agent.pauses.status(), [], `resume errors: ${resumeErrors.join('; ') || 'none'}`);
      await vm.agent.pause(vm.name, 60_000);
      const early = await vm.agent.resume(vm.name);
      assert.equal(early.reason, 'requested');
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
    } finally {
      await vm.dispose();
    }
  },
);

void test(
  'a paused VM is resumed within deadline + 1 s when the agent process is SIGKILLed after the pause',
  { timeout: 180_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-pause-kill') });
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const script = fileURLToPath(new URL('../test-support/freeze-and-die.js', import.meta.url));
      const resumedEvent = vm.agent.events.waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm.name && e.event === 'Resumed',
        30_000,
      );
      const suspendedEvent = vm.agent.events.waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm.name && e.event === 'Suspended',
        30_000,
      );
      child = spawn(process.execPath, [script, vm.name, String(DEADLINE_MS), 'pause'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const agentProcess = child;
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        agentProcess.stdout?.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf);
        });
        agentProcess.on('exit', (code) => reject(new Error(`agent process exited early (${code})`)));
      });
      child.kill('SIGKILL');
      assert.match(line, /^paused /);
      const suspended = await suspendedEvent;
      const resumed = await resumedEvent;
      assert.ok(suspended !== undefined && resumed !== undefined, 'Suspended and Resumed events');
      const heldMs = resumed.at.getTime() - suspended.at.getTime();
      assert.ok(heldMs <= DEADLINE_MS + 1000, `the watchdog resumed within deadline + 1 s (${heldMs} ms)`);
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
    } finally {
      child?.kill('SIGKILL');
      await vm.dispose();
    }
  },
);
