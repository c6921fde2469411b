import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { isStrataError, type AgentCommand, type StorageContext } from '@strata/core';
import { fileHandlers } from '@strata/agent/channel/file-handlers';
import type { CommandHandler, CommandHandlers } from '@strata/agent/channel/dispatcher';
import { kvmHandlers } from '@strata/agent/channel/kvm-handlers';
import { HostAgent } from '@strata/agent/host-agent';
import { startGuestVm, type GuestVm } from '@strata/agent/test-support/guest-vm';
import { agentCommand, guestExec, uniqueName } from '@strata/testing';
import type { AgentPort } from '../agent-port.js';
import { cutUnderFreeze, undoGroupCut, type GroupGuest } from '../jobs/group-cut.js';
import { HOLD_DEADLINE_ENV, holdAroundOverlay } from './index.js';

// The hold every snapshot of a running guest uses (VM, group and single-volume snapshots), against
// a real guest (libvirt, QEMU, qemu-ga): the agent's own command handlers answer the server's
// calls in this process (the TLS channel between them is tested on its own in agents/).
const run = promisify(execFile);
let dir = '';
let vm: GuestVm;
let agent: HostAgent;
let port: AgentPort;
let guest: GroupGuest;
const ctx = (): StorageContext => ({ signal: AbortSignal.timeout(120_000) });

function inProcessPort(handlers: CommandHandlers): AgentPort {
  return {
    async send(_hostId, command, params, options) {
      const handler = handlers[command] as CommandHandler<AgentCommand> | undefined;
      if (!handler) throw new Error(`no handler for ${command}`);
      const signal = options?.signal ?? AbortSignal.timeout(120_000);
      return await handler(params, { requestId: command, signal, timeoutMs: 120_000 });
    },
  };
}

async function diskSources(): Promise<string[]> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'domblklist', '--details', vm.name]);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[1] === 'disk')
    .map((c) => `${c[2]} ${c.slice(3).join(' ')}`);
}

async function held(): Promise<{ state: string; fsfreeze: string }> {
  const { state } = await agent.vmState(vm.name);
  const fsfreeze = String(await agentCommand(vm.name, { execute: 'guest-fsfreeze-status' }));
  return { state, fsfreeze };
}

/** Runs `fn` with STRATA_HOLD_DEADLINE_MS set as the server would read it, then restores it. */
async function withDeadline<T>(ms: string | undefined, fn: () => Promise<T>): Promise<T> {
  const was = process.env[HOLD_DEADLINE_ENV];
  if (ms === undefined) delete process.env[HOLD_DEADLINE_ENV];
  else process.env[HOLD_DEADLINE_ENV] = ms;
  try {
    return await fn();
  } finally {
    if (was === undefined) delete process.env[HOLD_DEADLINE_ENV];
    else process.env[HOLD_DEADLINE_ENV] = was;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-hold-'));
  agent = new HostAgent({ holdDir: join(dir, 'holds'), initiatorFile: join(dir, 'initiatorname.iscsi') });
  await agent.start();
  const name = uniqueName('hold');
  vm = await startGuestVm({ name, agent, start: false });
  // where the transient overlays go: in the guest's directory, which QEMU may open
  const stateDir = join(vm.dir, 'state');
  await mkdir(stateDir);
  await chmod(stateDir, 0o755);
  const image = await vm.makeImage('data.raw', 'raw');
  await agent.attachDisk(
    name,
    { volumeId: 'vol-data', target: 'vdb', source: { kind: 'file', path: image, format: 'raw' } },
    { live: false },
  );
  await agent.startVm(name);
  await agent.waitForGuestAgent(name, 90_000);
  port = inProcessPort({ ...fileHandlers([stateDir]), ...kvmHandlers(agent) });
  guest = { hostId: 'h', vm: name, vmId: name, stateDir, groupKey: 'vsnap-hold' };
});

after(async () => {
  await vm?.dispose();
  await agent?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a volume snapshot of a running guest freezes it only for the overlay, within the configured deadline', async () => {
  const before = await diskSources();
  let thawedDuringTake = '';
  const cut = await withDeadline(undefined, () =>
    cutUnderFreeze({ agent: port }, guest, ['vdb'], ctx().signal, async () => {
      // qemu-ga refuses commands while the filesystems are frozen: an answer means thawed
      thawedDuringTake = (await guestExec(vm.name, 'echo thawed')).stdout.trim();
      return (await diskSources()).find((d) => d.startsWith('vdb ')) ?? '';
    }),
  );
  assert.equal(thawedDuringTake, 'thawed', 'the guest runs thawed while the backend takes its snapshot');
  assert.match(cut.taken, /\.group\.qcow2$/, 'the backend volume is still: the guest writes to the overlay');
  assert.ok(cut.holdMs > 0 && cut.holdMs < 5_000, `held ${cut.holdMs} ms, under the 5 s default`);
  assert.deepEqual(await diskSources(), before, 'the overlay was committed back');
  assert.deepEqual(await readdir(guest.stateDir), [], 'and removed');
  assert.deepEqual(await held(), { state: 'running', fsfreeze: 'thawed' });
});

test('with a 1 ms deadline configured the freeze cannot fit: the cut fails with its code, before any backend snapshot, and its undo leaves the guest whole', async () => {
  const before = await diskSources();
  let taken = false;
  const failure = await withDeadline('1', () =>
    cutUnderFreeze({ agent: port }, guest, ['vdb'], ctx().signal, () => {
      taken = true;
      return Promise.resolve(null);
    }).then(
      () => 'succeeded',
      (e: unknown) =>
        isStrataError(e, 'HOLD_EXPIRED') || isStrataError(e, 'GUEST_FREEZE_FAILED') ? e.code : String(e),
    ),
  );
  // 1 ms bounds the freeze call itself (GUEST_FREEZE_FAILED) or the cut after it (HOLD_EXPIRED)
  assert.ok(['HOLD_EXPIRED', 'GUEST_FREEZE_FAILED'].includes(failure), `failed with ${failure}`);
  assert.equal(taken, false, 'no backend snapshot was taken of a cut past its deadline');
  await undoGroupCut({ agent: port }, guest, ['vdb'], ctx());
  assert.deepEqual(await diskSources(), before, 'every disk runs on its backend again');
  assert.deepEqual(await readdir(guest.stateDir), [], 'no transient overlay is left');
  assert.deepEqual(await held(), { state: 'running', fsfreeze: 'thawed' });
});

test('a pause past the configured deadline is HOLD_EXPIRED, and the VM runs again', async () => {
  const before = await diskSources();
  const overlayPath = join(guest.stateDir, 'paused.vdb.qcow2');
  const failure = await withDeadline('1', () =>
    holdAroundOverlay(port, {
      hostId: 'h',
      vm: vm.name,
      hold: 'pause',
      disks: [{ target: 'vdb', overlayPath }],
    }).then(
      () => 'succeeded',
      (e: unknown) => (isStrataError(e, 'HOLD_EXPIRED') ? e.code : String(e)),
    ),
  );
  assert.equal(failure, 'HOLD_EXPIRED');
  assert.equal((await agent.vmState(vm.name)).state, 'running');
  assert.deepEqual(agent.pauses.status(), [], 'the agent holds no pause');
  // the overlay may exist (the cut ran on after the release): commit it back as an undo does
  if ((await diskSources()).includes(`vdb ${overlayPath}`))
    await port.send('h', 'snapshot.blockCommit', { vm: vm.name, target: 'vdb' });
  await rm(overlayPath, { force: true });
  assert.deepEqual(await diskSources(), before);
});
