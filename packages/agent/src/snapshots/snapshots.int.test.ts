import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readWriterLog,
  recordsForSerial,
  uniqueName,
  waitForGuestAgent,
  type WriterRecord,
} from '@strata/testing';
import type { BlockJobProgress } from './block-jobs.js';
import { startGuestVm } from '../test-support/guest-vm.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function backingOf(image: string): Promise<string | undefined> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output', 'json', image]);
  return (JSON.parse(stdout) as { 'backing-filename'?: string })['backing-filename'];
}

const maxSeq = (records: readonly WriterRecord[]): number => records.reduce((m, r) => Math.max(m, r.seq), 0);

void test(
  'disk-only snapshot of a chosen disk, active commit with pivot from events, quiesced atomic snapshot of two disks, block stream',
  { timeout: 300_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-snap'), start: false });
    const data = await vm.makeImage('data.qcow2', 'qcow2');
    await vm.agent.attachDisk(
      vm.name,
      { volumeId: 'vol-data', target: 'vdb', source: { kind: 'file', path: data, format: 'qcow2' } },
      { live: false },
    );
    await vm.agent.startVm(vm.name);
    await waitForGuestAgent(vm.name, 90_000);
    const phases: BlockJobProgress[] = [];
    vm.agent.on('block-job', (p: BlockJobProgress) => phases.push(p));
    try {
      await sleep(1500);
      // 1. only vdb gets an overlay; vda stays on its image
      const overlay1 = join(vm.dir, 'data.snap1.qcow2');
      const snap = await vm.agent.diskOnlySnapshot(vm.name, [{ target: 'vdb', overlayPath: overlay1 }]);
      assert.ok(snap.snapshotMs > 0 && snap.tookMs >= snap.snapshotMs);
      assert.deepEqual(snap.overlays, [{ target: 'vdb', overlayPath: overlay1 }]);
      const disks = await vm.agent.liveDisks(vm.name);
      assert.equal(disks.find((d) => d.target === 'vdb')?.source, overlay1);
      assert.equal(disks.find((d) => d.target === 'vda')?.source, vm.rootOverlay);
      // the parent is still while the overlay takes the writes
      const still1 = await readWriterLog(data, { format: 'qcow2' });
      await sleep(1500);
      const still2 = await readWriterLog(data, { format: 'qcow2' });
      assert.deepEqual(still2, still1);
      const chain = recordsForSerial(await readWriterLog(overlay1, { format: 'qcow2' }), 'vol-data');
      assert.ok(maxSeq(chain) > maxSeq(still1), 'the guest writes on, into the overlay');

      // 2. active commit back into data.qcow2, pivot: completion comes from the event stream
      const commit = await vm.agent.blockCommit(vm.name, 'vdb');
      assert.ok(
        commit.readyMs !== undefined && commit.pivotMs !== undefined && commit.tookMs >= commit.readyMs,
      );
      assert.deepEqual(
        phases.map((p) => p.phase),
        ['started', 'ready', 'completed'],
      );
      assert.equal((await vm.agent.liveDisks(vm.name)).find((d) => d.target === 'vdb')?.source, data);
      await sleep(1000);
      assert.ok(
        maxSeq(await readWriterLog(data, { format: 'qcow2' })) > maxSeq(chain),
        'writes reach the base again after the pivot',
      );

      // 3. quiesced, atomic, both disks at one instant
      const rootTop = join(vm.dir, 'root.snap2.qcow2');
      const dataTop = join(vm.dir, 'data.snap2.qcow2');
      const q = await vm.agent.diskOnlySnapshot(
        vm.name,
        [
          { target: 'vda', overlayPath: rootTop },
          { target: 'vdb', overlayPath: dataTop },
        ],
        { quiesce: true },
      );
      assert.deepEqual(
        q.overlays.map((o) => o.target),
        ['vda', 'vdb'],
      );
      assert.equal(await backingOf(rootTop), vm.rootOverlay, 'each overlay sits on what its disk ran on');
      assert.deepEqual(
        (await vm.agent.liveDisks(vm.name)).map((d) => d.source),
        [rootTop, dataTop],
      );

      // 4. block stream: the top overlay pulls its backing data in and stands alone
      assert.equal(await backingOf(dataTop), data);
      phases.length = 0;
      const pulled = await vm.agent.blockStream(vm.name, 'vdb');
      assert.ok(pulled.tookMs > 0);
      assert.deepEqual(
        phases.map((p) => p.phase),
        ['started', 'completed'],
      );
      assert.equal(await backingOf(dataTop), undefined);
    } finally {
      await vm.dispose();
    }
  },
);

void test(
  'memory snapshot to a file, then revert by orchestration (restore) and disk-only revert (boot)',
  { timeout: 300_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-mem'), start: false });
    const data = await vm.makeImage('data.qcow2', 'qcow2');
    await vm.agent.attachDisk(
      vm.name,
      { volumeId: 'vol-data', target: 'vdb', source: { kind: 'file', path: data, format: 'qcow2' } },
      { live: false },
    );
    await vm.agent.startVm(vm.name);
    await waitForGuestAgent(vm.name, 90_000);
    try {
      await sleep(1500);
      const memory = join(vm.dir, 'memory.state');
      const rootTop = join(vm.dir, 'root.mem.qcow2');
      const dataTop = join(vm.dir, 'data.mem.qcow2');
      const snap = await vm.agent.memorySnapshot(vm.name, memory, [
        { target: 'vda', overlayPath: rootTop },
        { target: 'vdb', overlayPath: dataTop },
      ]);
      assert.ok(snap.snapshotMs > 0);
      assert.ok((await stat(memory)).size > 1_000_000, 'the memory state is in the file');
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
      const atSnapshot = maxSeq(await readWriterLog(data, { format: 'qcow2' }));
      await sleep(2000);
      const before = recordsForSerial(await readWriterLog(dataTop, { format: 'qcow2' }), 'vol-data');
      const digest = async (path: string) =>
        createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      const frozen = await digest(data);
      assert.ok(maxSeq(before) > atSnapshot);

      // revert to the memory snapshot: overlays reset over the still images, memory restored
      const reverted = await vm.agent.revertExternal(
        vm.name,
        [
          { overlayPath: rootTop, snapshotImage: vm.rootOverlay },
          { overlayPath: dataTop, snapshotImage: data },
        ],
        { memoryPath: memory },
      );
      assert.equal(reverted.resumed, 'restored');
      assert.ok(reverted.tookMs >= reverted.resetMs);
      assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
      // the writes after the snapshot are gone: right after the restore the chain holds nothing newer than it had then
      const rightAfter = recordsForSerial(await readWriterLog(dataTop, { format: 'qcow2' }), 'vol-data');
      assert.ok(
        maxSeq(rightAfter) < maxSeq(before),
        `seq ${maxSeq(rightAfter)} after revert, ${maxSeq(before)} before`,
      );
      await waitForGuestAgent(vm.name, 30_000);
      // the saved XML named the snapshot image: the restore was pointed at the overlay instead
      assert.equal(await digest(data), frozen, 'the restored guest never wrote to the snapshot image');

      // disk-only revert: the same orchestration, then a fresh boot
      const booted = await vm.agent.revertExternal(vm.name, [{ overlayPath: dataTop, snapshotImage: data }], {
        start: true,
      });
      assert.equal(booted.resumed, 'booted');
      await waitForGuestAgent(vm.name, 90_000);
    } finally {
      await vm.dispose();
    }
  },
);

void test('internal qcow2 snapshots: create, revert, delete', { timeout: 240_000 }, async () => {
  const vm = await startGuestVm({ name: uniqueName('agent-internal') });
  try {
    const created = await vm.agent.internalSnapshot(vm.name, 'create', 'cp1');
    assert.ok(created.tookMs > 0);
    const { stdout } = await run('qemu-img', ['snapshot', '-U', '-l', vm.rootOverlay]);
    assert.match(stdout, /cp1/);
    const reverted = await vm.agent.internalSnapshot(vm.name, 'revert', 'cp1');
    assert.equal(reverted.op, 'revert');
    assert.equal((await vm.agent.vmState(vm.name)).state, 'running');
    await vm.agent.internalSnapshot(vm.name, 'delete', 'cp1');
    const after = await run('qemu-img', ['snapshot', '-U', '-l', vm.rootOverlay]);
    assert.doesNotMatch(after.stdout, /cp1/);
  } finally {
    await vm.dispose();
  }
});
