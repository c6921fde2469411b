import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StorageContext, StorageDriver } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';
import { commitBack, executeCut, type CutDeps } from './cut.js';
import type { CutDisk, CutPlan } from './plan.js';

// The order of a cut's operations, with a recording fake agent and fake drivers: the same paths
// run for real against libvirt, tgt and Ceph in the demo package's torture and quiesce-modes tests.

function recorder() {
  const calls: string[] = [];
  const agent: AgentPort = {
    send(_host, command, params) {
      const p = params as { quiesce?: boolean; disks?: unknown[]; target?: string; hold?: string };
      if (command === 'snapshot.diskOnly') calls.push(`diskOnly ${p.disks?.length} quiesce=${p.quiesce}`);
      else if (command === 'snapshot.heldCut') calls.push(`heldCut ${p.hold} ${p.disks?.length}`);
      else if (command === 'snapshot.blockCommit') calls.push(`blockCommit ${p.target}`);
      else calls.push(command);
      const answers: Record<string, unknown> = {
        'guest.freeze': { freezeMs: 1 },
        'guest.thaw': { frozenForMs: 12 },
        'vm.pause': {},
        'vm.resume': { pausedForMs: 9 },
        'snapshot.diskOnly': { overlays: [], snapshotMs: 3, tookMs: 4 },
        'snapshot.heldCut': { heldMs: 12, snapshotMs: 3, tookMs: 20 },
        'snapshot.blockCommit': {},
        'vm.state': { disks: [] },
      };
      return Promise.resolve(answers[command] as never);
    },
  };
  const driver = (name: string, hook: 'storage' | 'hypervisor'): StorageDriver =>
    ({
      name,
      capabilities: { vmSnapshotHook: hook },
      takeVmSnapshot(_ctx: StorageContext, req: { volumeIds: readonly string[] }) {
        calls.push(`take ${name}`);
        return Promise.resolve({
          volumes: req.volumeIds.map((volumeId) => ({ volumeId, snapshotRef: `${name}@s` })),
          consistency: 'filesystem',
        });
      },
    }) as unknown as StorageDriver;
  return { calls, agent, driver };
}

function planOf(disks: CutDisk[], quiesce: CutPlan['quiesce']): CutPlan {
  return {
    hostId: 'h1',
    vmName: 'vm',
    vmRunning: true,
    guestAgent: true,
    snapshot: { id: 's1', vmId: 'v1', name: 'n', type: 'Disk' },
    type: 'Disk',
    quiesce,
    disks,
    transientOverlays: Object.fromEntries(disks.map((d) => [d.target, `/state/${d.target}.qcow2`])),
    holdDeadlineMs: 5_000,
  };
}

const ctx = { signal: new AbortController().signal } as StorageContext;

/** Stopped-VM overlay files and active paths are not used by these running-VM cuts. */
const depsWith = (agent: AgentPort): CutDeps => ({
  agent,
  files: { createOverlay: () => Promise.resolve() },
  activePath: () => '/p',
});

test('guest quiesce over several backends: one agent command freezes, cuts every disk and thaws; the drivers take the still parents after', async () => {
  const r = recorder();
  const deps = depsWith(r.agent);
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('tgt', 'storage') },
    { volumeId: 'c', target: 'vdc', driver: r.driver('rbd', 'storage') },
  ];
  const cut = await executeCut(deps, planOf(disks, 'guest'), ctx);
  assert.deepEqual(r.calls[0], 'heldCut guest 3');
  assert.deepEqual(r.calls.slice(1, 3).sort(), ['take rbd', 'take tgt']);
  assert.equal(r.calls.length, 3, 'no commit-back inside the cut: it follows the record (commitBack)');
  assert.equal(cut.holdMs, 12, 'the hold is the freeze the agent measured');
  assert.equal(cut.cutSpreadMs, 0, 'one atomic operation cut every disk');
  assert.equal(cut.consistency, 'filesystem');
});

test('guest quiesce on one network disk: libvirt quiesces the overlay, the driver takes the still LUN after', async () => {
  const r = recorder();
  const deps = depsWith(r.agent);
  const cut = await executeCut(
    deps,
    planOf([{ volumeId: 'b', target: 'vdb', driver: r.driver('tgt', 'storage') }], 'guest'),
    ctx,
  );
  assert.deepEqual(r.calls, ['diskOnly 1 quiesce=true', 'take tgt']);
  assert.equal(cut.holdMs, 3, "the hold is libvirt's quiesced call alone, not the agent's preparation");
});

test('pause over several backends: the vCPUs stop for the atomic overlay only, on the host in one command', async () => {
  const r = recorder();
  const deps = depsWith(r.agent);
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('tgt', 'storage') },
    { volumeId: 'c', target: 'vdc', driver: r.driver('rbd', 'storage') },
  ];
  const cut = await executeCut(deps, planOf(disks, 'pause'), ctx);
  assert.deepEqual(r.calls[0], 'heldCut pause 3');
  assert.deepEqual(r.calls.slice(1, 3).sort(), ['take rbd', 'take tgt']);
  assert.equal(r.calls.length, 3, 'no commit-back inside the cut: it follows the record (commitBack)');
  assert.equal(cut.holdMs, 12, 'the hold is the pause the agent measured');
  assert.equal(cut.cutSpreadMs, 0);
});

test('none over several backends: one atomic overlay with no hold, so still one point in time', async () => {
  const r = recorder();
  const deps = depsWith(r.agent);
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('rbd', 'storage') },
  ];
  const cut = await executeCut(deps, planOf(disks, 'none'), ctx);
  assert.deepEqual(r.calls, ['diskOnly 2 quiesce=false', 'take rbd']);
  assert.equal(cut.holdMs, 0, 'nothing held the guest');
  assert.equal(cut.cutSpreadMs, 0, 'one atomic operation cut every disk');
  assert.equal(cut.consistency, 'crash', 'one instant on every disk: what a power cut leaves');
});

test('hypervisor quiesce with no guest agent: an overlay that holds nothing records no hold and crash', async () => {
  const r = recorder();
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('tgt', 'storage') },
  ];
  const cut = await executeCut(depsWith(r.agent), { ...planOf(disks, 'hypervisor'), guestAgent: false }, ctx);
  assert.deepEqual(r.calls, ['diskOnly 2 quiesce=false', 'take tgt']);
  assert.equal(cut.holdMs, 0);
  assert.equal(cut.consistency, 'crash');
});

test('a running VM with no host to cut it on is refused before anything is cut', async () => {
  const r = recorder();
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('rbd', 'storage') },
  ];
  await assert.rejects(executeCut(depsWith(r.agent), { ...planOf(disks, 'none'), hostId: null }, ctx), {
    code: 'INTERNAL',
  });
  assert.deepEqual(r.calls, [], 'no part was taken at an instant of its own');
});

test('guest quiesce on qcow2 files only: libvirt freezes, cuts and thaws in one operation', async () => {
  const r = recorder();
  const deps = depsWith(r.agent);
  const file = r.driver('file', 'hypervisor');
  await executeCut(
    deps,
    planOf(
      [
        { volumeId: 'a', target: 'vda', driver: file, overlayPath: '/o/a' },
        { volumeId: 'b', target: 'vdb', driver: file, overlayPath: '/o/b' },
      ],
      'guest',
    ),
    ctx,
  );
  assert.deepEqual(r.calls, ['diskOnly 2 quiesce=true']);
});

test('a guest freeze that outlives its deadline fails the cut and undoes it', async () => {
  const r = recorder();
  const slowThaw: AgentPort = {
    send(host, command, params, options) {
      if (command === 'snapshot.heldCut') {
        r.calls.push('heldCut');
        return Promise.resolve({ heldMs: 6_000, snapshotMs: 3, tookMs: 6_010 } as never);
      }
      return r.agent.send(host, command, params, options);
    },
  };
  const deps = depsWith(slowThaw);
  const disks: CutDisk[] = [
    { volumeId: 'a', target: 'vda', driver: r.driver('file', 'hypervisor'), overlayPath: '/o/a' },
    { volumeId: 'b', target: 'vdb', driver: r.driver('tgt', 'storage') },
  ];
  const undone: string[] = [];
  (disks[1]!.driver as unknown as { deleteVmSnapshot: () => Promise<void> }).deleteVmSnapshot = () => {
    undone.push('tgt');
    return Promise.resolve();
  };
  await assert.rejects(executeCut(deps, planOf(disks, 'guest'), ctx), { code: 'HOLD_EXPIRED' });
  assert.ok(!r.calls.includes('take tgt'), 'no driver took a part after the hold expired');
  assert.deepEqual(undone, ['tgt'], 'the undo asked every driver to drop its part');
});

test('commit-back after the record: only disks still on their transient overlay, a commit finished meanwhile counts as done', async () => {
  const calls: string[] = [];
  // vdb still on its overlay, vdc already back on its LUN (an earlier attempt), vdd's commit fails
  // but a second look finds it off its overlay (its first commit finished after all)
  let looks = 0;
  const agent: AgentPort = {
    send(_host, command, params) {
      const p = params as { target?: string };
      if (command === 'vm.state') {
        looks++;
        const vdd = looks === 1 ? '/state/vdd.qcow2' : 'iscsi://lun/3';
        return Promise.resolve({
          disks: [
            { target: 'vda', source: '/o/a' },
            { target: 'vdb', source: '/state/vdb.qcow2' },
            { target: 'vdc', source: 'rbd:pool/c' },
            { target: 'vdd', source: vdd },
          ],
        } as never);
      }
      calls.push(`${command} ${p.target}`);
      if (p.target === 'vdd') return Promise.reject(new Error('no block job to commit'));
      return Promise.resolve({} as never);
    },
  };
  const plan: CutPlan = {
    ...planOf([], 'guest'),
    transientOverlays: { vdb: '/state/vdb.qcow2', vdc: '/state/vdc.qcow2', vdd: '/state/vdd.qcow2' },
  };
  const committed = await commitBack(depsWith(agent), plan, ctx);
  assert.deepEqual(committed, ['vdb', 'vdd']);
  assert.deepEqual(calls.sort(), ['snapshot.blockCommit vdb', 'snapshot.blockCommit vdd']);
  assert.equal(looks, 2, 'a failed commit makes it look again');
});

test('commit-back fails when a disk whose commit failed is still on its overlay', async () => {
  const agent: AgentPort = {
    send(_host, command) {
      if (command === 'vm.state')
        return Promise.resolve({ disks: [{ target: 'vdb', source: '/state/vdb.qcow2' }] } as never);
      return Promise.reject(new Error('block commit failed'));
    },
  };
  const plan: CutPlan = { ...planOf([], 'guest'), transientOverlays: { vdb: '/state/vdb.qcow2' } };
  await assert.rejects(commitBack(depsWith(agent), plan, ctx), /block commit failed/);
  // a stopped VM has nothing to commit back and asks nothing
  assert.deepEqual(await commitBack(depsWith(agent), { ...plan, vmRunning: false }, ctx), []);
});
