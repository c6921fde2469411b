import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Virsh } from '../virsh/virsh.js';
import { IoErrorResumer } from './io-error-resume.js';

// The resumer's bookkeeping against a scripted virsh (a documented fake: each call answers the
// next line its script holds for that command). The real path, QEMU pausing a guest on EIO and the
// resumer resuming it, is io-error-resume.int.test.ts.
function scripted(script: Record<string, string[]>): { virsh: Virsh; calls: string[] } {
  const calls: string[] = [];
  const run = (args: readonly string[]) => {
    const cmd = args[0]!;
    calls.push(cmd);
    const answers = script[cmd] ?? [];
    return Promise.resolve(answers.length > 1 ? answers.shift()! : (answers[0] ?? ''));
  };
  return { virsh: { run } as unknown as Virsh, calls };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a guest resumed by an earlier attempt is reported even when it runs again between the list and its state read', async () => {
  const { virsh } = scripted({
    // sweep 1: paused on EIO, resumed, paused again at once (the storage still fails);
    // sweep 2: listed paused, but running by the time its state is read (the retry went through)
    list: ['vm-a', 'vm-a'],
    domstate: ['paused (I/O error)', 'paused (I/O error)', 'running (unpaused)'],
    resume: [''],
  });
  const r = new IoErrorResumer(virsh, { intervalMs: 1 });
  const resumed: string[] = [];
  r.on('resumed', (e: { vm: string; attempts: number }) => resumed.push(`${e.vm} after ${e.attempts}`));
  await r.sweep();
  assert.equal(resumed.length, 0, 'paused again: not yet');
  await sleep(5);
  await r.sweep();
  assert.deepEqual(resumed, ['vm-a after 1']);
});

test('a guest gone from the paused list after an attempt is reported once running, kept while unclear', async () => {
  const { virsh } = scripted({
    list: ['vm-b', '', '', ''],
    // sweep 1: paused, resumed, re-read paused; sweep 2: read twice, still paused; sweep 3: running
    domstate: [
      'paused (I/O error)',
      'paused (I/O error)',
      'paused (I/O error)',
      'paused (I/O error)',
      'running (unpaused)',
    ],
    resume: [''],
  });
  const r = new IoErrorResumer(virsh, { intervalMs: 1 });
  const resumed: string[] = [];
  r.on('resumed', (e: { vm: string }) => resumed.push(e.vm));
  await r.sweep(); // resumed, re-paused
  await r.sweep(); // not listed, but its state still reads paused: kept
  assert.equal(resumed.length, 0);
  await r.sweep(); // running now
  assert.deepEqual(resumed, ['vm-b']);
  await r.sweep();
  assert.deepEqual(resumed, ['vm-b'], 'reported once');
});

test('a guest paused for another reason is never resumed', async () => {
  const { virsh, calls } = scripted({ list: ['vm-c'], domstate: ['paused (user)'] });
  const r = new IoErrorResumer(virsh, { intervalMs: 1 });
  await r.sweep();
  assert.equal(calls.includes('resume'), false);
});
