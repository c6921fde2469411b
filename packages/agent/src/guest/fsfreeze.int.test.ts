import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findStalls,
  guestExec,
  readWriterLog,
  recordsForSerial,
  uniqueName,
  type WriterRecord,
} from '@strata/testing';
import { HostAgent } from '../host-agent.js';
import { startGuestVm, type GuestVm } from '../test-support/guest-vm.js';

const DEADLINE_MS = 3000;

async function withDataDisk(): Promise<{ vm: GuestVm; image: string }> {
  const name = uniqueName('agent-freeze');
  // the data disk is created before the VM exists, in a directory of its own
  const vm = await startGuestVm({ name, start: false });
  const image = await vm.makeImage('data.raw', 'raw');
  await vm.agent.attachDisk(
    name,
    { volumeId: 'vol-data', target: 'vdb', source: { kind: 'file', path: image, format: 'raw' } },
    { live: false },
  );
  await vm.agent.startVm(name);
  await vm.agent.waitForGuestAgent(name, 90_000);
  await new Promise((r) => setTimeout(r, 1500));
  return { vm, image };
}

/** The stall the freeze caused: the longest gap in the writer's records. */
function freezeStall(records: readonly WriterRecord[]): number {
  return findStalls(records, 500).reduce((max, s) => Math.max(max, s.gapMs), 0);
}

void test(
  'a freeze whose thaw never comes is thawed by the agent within deadline + 1 s',
  { timeout: 180_000 },
  async () => {
    const { vm, image } = await withDataDisk();
    try {
      const frozen = await vm.agent.freeze(vm.name, DEADLINE_MS);
      assert.equal(frozen.filesystems, 1, 'the root filesystem froze');
      assert.deepEqual(
        vm.agent.freezes.status().map((f) => f.vm),
        [vm.name],
      );
      const thawed = new Promise<{ reason: string; frozenForMs: number }>((resolve) =>
        vm.agent.once('thawed', resolve),
      );
      const t = await thawed;
      assert.equal(t.reason, 'deadline');
      assert.ok(t.frozenForMs <= DEADLINE_MS + 1000, `thawed after ${t.frozenForMs} ms`);
      assert.deepEqual(vm.agent.freezes.status(), []);
      await new Promise((r) => setTimeout(r, 1500));
      const records = recordsForSerial(await readWriterLog(image), 'vol-data');
      const stall = freezeStall(records);
      assert.ok(stall >= DEADLINE_MS - 1000, `the writer stalled while frozen (${stall} ms)`);
      assert.ok(stall <= DEADLINE_MS + 1000, `the writer resumed within deadline + 1 s (stall ${stall} ms)`);
      // a requested thaw before the deadline ends the freeze early
      await vm.agent.freeze(vm.name, 60_000);
      const early = await vm.agent.thaw(vm.name);
      assert.equal(early.reason, 'requested');
      assert.ok(early.frozenForMs < 10_000);
    } finally {
      await vm.dispose();
    }
  },
);

void test(
  'the guest is thawed within deadline + 1 s even when the agent process is SIGKILLed after the freeze',
  { timeout: 180_000 },
  async () => {
    const { vm, image } = await withDataDisk();
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const script = fileURLToPath(new URL('../test-support/freeze-and-die.js', import.meta.url));
      child = spawn(process.execPath, [script, vm.name, String(DEADLINE_MS)], {
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
      assert.match(line, /^frozen /);
      // a new agent process takes the recorded freeze over and reports it until the deadline
      const successor = new HostAgent();
      await successor.start();
      try {
        assert.ok(
          successor.freezes.status().some((f) => f.vm === vm.name),
          'the restarted agent reports the freeze',
        );
      } finally {
        successor.events.stop();
      }
      assert.equal((JSON.parse(line.slice('frozen '.length)) as { filesystems: number }).filesystems, 1);
      await new Promise((r) => setTimeout(r, DEADLINE_MS + 2500));
      // the guest agent answers again: it refuses commands while frozen
      const out = await guestExec(vm.name, 'echo thawed');
      assert.equal(out.stdout.trim(), 'thawed');
      const records = recordsForSerial(await readWriterLog(image), 'vol-data');
      const stall = freezeStall(records);
      assert.ok(stall >= DEADLINE_MS - 1000, `the writer stalled while frozen (${stall} ms)`);
      assert.ok(stall <= DEADLINE_MS + 1000, `the watchdog thawed within deadline + 1 s (stall ${stall} ms)`);
    } finally {
      child?.kill('SIGKILL');
      await vm.dispose();
    }
  },
);
