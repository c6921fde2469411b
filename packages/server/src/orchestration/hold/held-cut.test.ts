import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { StrataError } from '@strata/core';
import type { AgentPort } from '../agent-port.js';
import {
  HOLD_DEADLINE_ENV,
  HOLD_DEADLINE_MS,
  holdAroundOverlay,
  holdDeadlineMs,
  releaseHold,
} from './index.js';

// What the hold asks of the agent and how it reads the answer, with a recording fake agent. The
// same calls run for real (libvirt, QEMU, qemu-ga) in hold.int.test.ts.

function recorder(answer: (command: string) => unknown) {
  const calls: Array<{ command: string; params: Record<string, unknown> }> = [];
  const agent: AgentPort = {
    async send(_host, command, params) {
      calls.push({ command, params: params as Record<string, unknown> });
      await Promise.resolve();
      return answer(command) as never;
    },
  };
  return { calls, agent };
}

const cut = {
  hostId: 'h1',
  vm: 'dom-1',
  vmId: 'vm-1',
  disks: [{ target: 'vdb', overlayPath: '/s/o.qcow2' }],
};
const heldFor = (heldMs: number) => () => ({ heldMs, snapshotMs: 1, tookMs: heldMs + 1 });

afterEach(() => {
  delete process.env[HOLD_DEADLINE_ENV];
});

test('the hold plans with the configured deadline: STRATA_HOLD_DEADLINE_MS, else 5 s', async () => {
  const r = recorder(heldFor(30));
  assert.equal(await holdAroundOverlay(r.agent, { ...cut, hold: 'guest' }), 30);
  process.env[HOLD_DEADLINE_ENV] = '250';
  assert.equal(await holdAroundOverlay(r.agent, { ...cut, hold: 'pause' }), 30);
  assert.deepEqual(
    r.calls.map((c) => [c.command, c.params['hold'], c.params['deadlineMs']]),
    [
      ['snapshot.heldCut', 'guest', HOLD_DEADLINE_MS],
      ['snapshot.heldCut', 'pause', 250],
    ],
  );
});

test('a hold that reached its deadline is HOLD_EXPIRED, naming the VM, the deadline and the hold', async () => {
  process.env[HOLD_DEADLINE_ENV] = '250';
  const atDeadline = recorder(heldFor(250));
  await assert.rejects(holdAroundOverlay(atDeadline.agent, { ...cut, hold: 'guest' }), (e: unknown) => {
    assert.ok(e instanceof StrataError && e.code === 'HOLD_EXPIRED');
    assert.deepEqual(e.params, { vm: 'vm-1', deadlineMs: 250, holdMs: 250 });
    return true;
  });
  // a deadline given by the caller (a VM snapshot's plan journals its own) wins over the setting
  const planned = recorder(heldFor(900));
  assert.equal(await holdAroundOverlay(planned.agent, { ...cut, hold: 'pause', deadlineMs: 1_000 }), 900);
  assert.equal(planned.calls[0]?.params['deadlineMs'], 1_000);
});

test('a deadline outside 1..5000 ms is refused with its field named', () => {
  for (const bad of ['0', '5001', '1.5', 'soon']) {
    assert.throws(
      () => holdDeadlineMs({ [HOLD_DEADLINE_ENV]: bad }),
      (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT',
      bad,
    );
  }
  assert.equal(holdDeadlineMs({ [HOLD_DEADLINE_ENV]: '1' }), 1);
});

test('releasing a hold thaws or resumes, and a guest no longer held is no error', async () => {
  const r = recorder(() => {
    throw new StrataError('VM_NOT_RUNNING', { vm: 'dom-1' });
  });
  await releaseHold(r.agent, 'h1', 'dom-1', 'guest');
  await releaseHold(r.agent, 'h1', 'dom-1', 'pause');
  assert.deepEqual(
    r.calls.map((c) => c.command),
    ['guest.thaw', 'vm.resume'],
  );
});
