import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '@strata/testing';
import { HostAgent } from '../host-agent.js';
import { startGuestVm } from '../test-support/guest-vm.js';
import { startThawWatchdog } from './thaw-watchdog.js';

const run = promisify(execFile);

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

/** Starts a throwaway agent process (test-support/freeze-and-die.ts) and reads its one line. */
async function agentProcess(
  args: readonly string[],
  children: Array<ReturnType<typeof spawn>>,
): Promise<{ child: ReturnType<typeof spawn>; line: string }> {
  const script = fileURLToPath(new URL('../test-support/freeze-and-die.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf);
    });
    child.on('exit', (code) => reject(new Error(`agent process exited early (${code})`)));
  });
  return { child, line };
}

void test(
  'a pause outlives the agent as a freeze does: a restarted agent takes it over, and with both agents SIGKILLed the watchdog resumes the VM within deadline + 1 s',
  { timeout: 180_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-pause-kill') });
    const holdDir = await mkdtemp(join(tmpdir(), 'strata-pause-holds-'));
    const children: Array<ReturnType<typeof spawn>> = [];
    try {
      const resumedEvent = vm.agent.events.waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm.name && e.event === 'Resumed',
        30_000,
      );
      const suspendedEvent = vm.agent.events.waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm.name && e.event === 'Suspended',
        30_000,
      );
      const first = await agentProcess([vm.name, String(DEADLINE_MS), 'pause', holdDir], children);
      first.child.kill('SIGKILL');
      assert.match(first.line, /^paused /);
      // the pause is recorded: a new agent process takes it over and reports it until the deadline
      const successor = await agentProcess([vm.name, '0', 'adopt', holdDir], children);
      successor.child.kill('SIGKILL');
      const adopted = JSON.parse(successor.line.slice('adopted '.length)) as {
        paused: string[];
        pauses: Array<{ vm: string; deadlineAt: string }>;
      };
      assert.deepEqual(adopted.paused, [vm.name], 'the restarted agent took the pause over');
      assert.equal(adopted.pauses[0]?.vm, vm.name, 'and reports it with its deadline');
      // neither agent lives now: only the detached watchdog can resume the VM
      const suspended = await suspendedEvent;
      const resumed = await resumedEvent;
      assert.ok(suspended !== undefined && resumed !== undefined, 'Suspended and Resumed events');
      const heldMs = resumed.at.getTime() - suspended.at.getTime();
      assert.ok(heldMs <= DEADLINE_MS + 1000, `the watchdog resumed within deadline + 1 s (${heldMs} ms)`);
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await vm.dispose();
      await rm(holdDir, { recursive: true, force: true });
    }
  },
);

void test(
  'a suspend that lands after the deadline (a slow libvirt) is still resumed by the watchdog',
  { timeout: 120_000 },
  async () => {
    const agent = new HostAgent();
    const vm = uniqueName('agent-pause-late');
    // No disk and no kernel: the firmware finds nothing to boot and idles, which is all a pause needs.
    await agent.defineVm({ name: vm, cpus: 1, memoryBytes: 128 * 1024 * 1024, disks: [] });
    try {
      await agent.startVm(vm);
      const watchdog = startThawWatchdog(agent.virsh.uri, vm, 0, 'resume');
      try {
        // the watchdog's deadline has passed when the VM is suspended (as the agent's suspend would
        // land, late): with no agent alive, the watchdog is the only one that can resume it
        await sleep(1_000);
        await run('virsh', ['-c', agent.virsh.uri, 'suspend', '--domain', vm]);
        const by = Date.now() + 15_000;
        let state = (await agent.vmState(vm)).state;
        while (state !== 'running' && Date.now() < by) {
          await sleep(200);
          state = (await agent.vmState(vm)).state;
        }
        assert.equal(state, 'running', 'the watchdog resumed the VM suspended after its deadline');
      } finally {
        watchdog.cancel();
      }
    } finally {
      await agent.destroyVm(vm);
    }
  },
);
