import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StorageContext } from '@strata/core';
import type { AgentPort } from '../agent-port.js';
import { HOLD_DEADLINE_MS } from '../hold/index.js';
import {
  cutUnderFreeze,
  freezeUnderOverlay,
  transientOverlay,
  undoGroupCut,
  type GroupGuest,
} from './group-cut.js';

// The agent calls of a group cut and of its undo, with a recording fake agent. The same paths run
// for real (libvirt, tgt, Ceph) in the demo package's volume-snapshots test.

const guest: GroupGuest = {
  hostId: 'h1',
  vm: 'vm-1',
  vmId: 'vm-1',
  stateDir: '/nonexistent',
  groupKey: 'vsnap-1',
};
const ctx = { signal: new AbortController().signal } as StorageContext;

function recorder(answers: Record<string, unknown>) {
  const calls: string[] = [];
  const agent: AgentPort = {
    send(_host, command, params) {
      const p = params as {
        disks?: Array<{ overlayPath: string }>;
        target?: string;
        hold?: string;
        deadlineMs?: number;
      };
      if (command === 'snapshot.heldCut')
        calls.push(
          `heldCut ${p.hold} ${p.disks?.map((d) => d.overlayPath).join(',')} deadline=${p.deadlineMs}`,
        );
      else if (command === 'snapshot.blockCommit') calls.push(`blockCommit ${p.target}`);
      else if (command === 'file.remove') calls.push(`remove ${(params as { path: string }).path}`);
      else calls.push(command);
      return Promise.resolve(answers[command] as never);
    },
  };
  return { calls, agent };
}

test('the freeze holds only the atomic overlay over every member disk: one held cut on the host', async () => {
  const r = recorder({ 'snapshot.heldCut': { heldMs: 40, snapshotMs: 20, tookMs: 60 } });
  const held = await freezeUnderOverlay({ agent: r.agent }, guest, ['vdb', 'vdc'], ctx.signal);
  assert.equal(held, 40);
  assert.deepEqual(r.calls, [
    `heldCut guest ${transientOverlay(guest, 'vdb')},${transientOverlay(guest, 'vdc')} deadline=${HOLD_DEADLINE_MS}`,
  ]);
});

test('a freeze that outlived its deadline is HOLD_EXPIRED: the agent may have thawed before the overlay', async () => {
  const r = recorder({ 'snapshot.heldCut': { heldMs: 1_001, snapshotMs: 20, tookMs: 1_100 } });
  await assert.rejects(
    freezeUnderOverlay({ agent: r.agent }, guest, ['vdb', 'vdc'], ctx.signal, 1_000),
    (e: unknown) => (e as { code?: string }).code === 'HOLD_EXPIRED',
  );
  assert.deepEqual(r.calls, [
    `heldCut guest ${transientOverlay(guest, 'vdb')},${transientOverlay(guest, 'vdc')} deadline=1000`,
  ]);
});

test('undo commits back only the disks still on this group’s overlays', async () => {
  const r = recorder({
    'guest.thaw': { frozenForMs: 0 },
    'vm.state': {
      disks: [
        { target: 'vda', source: '/pool/root.qcow2' },
        { target: 'vdb', source: transientOverlay(guest, 'vdb') },
        { target: 'vdc', source: 'iqn.2026-11.strata:vol-c/1' },
        { target: 'vdd', source: transientOverlay({ ...guest, groupKey: 'another' }, 'vdd') },
      ],
    },
    'snapshot.blockCommit': {},
    'file.remove': { existed: true },
  });
  await undoGroupCut({ agent: r.agent }, guest, ['vdb', 'vdc', 'vdd'], ctx);
  // the overlays are removed by the guest's host agent, never by the server itself
  assert.deepEqual(r.calls, [
    'guest.thaw',
    'vm.state',
    'blockCommit vdb',
    ...['vdb', 'vdc', 'vdd'].map((t) => `remove ${transientOverlay(guest, t)}`),
  ]);
});

test('a cut under the freeze: the backend takes its snapshot after the hold ends, then the overlay is committed back', async () => {
  const r = recorder({
    'snapshot.heldCut': { heldMs: 40, snapshotMs: 20, tookMs: 60 },
    'snapshot.blockCommit': {},
    'file.remove': { existed: true },
  });
  const cut = await cutUnderFreeze({ agent: r.agent }, guest, ['vdb'], ctx.signal, () => {
    r.calls.push('take');
    return Promise.resolve('snap');
  });
  assert.deepEqual(cut, { holdMs: 40, taken: 'snap' });
  assert.deepEqual(r.calls, [
    `heldCut guest ${transientOverlay(guest, 'vdb')} deadline=${HOLD_DEADLINE_MS}`,
    'take',
    'blockCommit vdb',
    `remove ${transientOverlay(guest, 'vdb')}`,
  ]);
});

test('the configured deadline bounds a group or single-volume cut: past it, no backend snapshot is taken', async () => {
  process.env['STRATA_HOLD_DEADLINE_MS'] = '300';
  try {
    const r = recorder({ 'snapshot.heldCut': { heldMs: 300, snapshotMs: 20, tookMs: 320 } });
    await assert.rejects(
      cutUnderFreeze({ agent: r.agent }, guest, ['vdb'], ctx.signal, () => {
        r.calls.push('take');
        return Promise.resolve(null);
      }),
      (e: unknown) => (e as { code?: string }).code === 'HOLD_EXPIRED',
    );
    assert.deepEqual(r.calls, [`heldCut guest ${transientOverlay(guest, 'vdb')} deadline=300`]);
  } finally {
    delete process.env['STRATA_HOLD_DEADLINE_MS'];
  }
});
