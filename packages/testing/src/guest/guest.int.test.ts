import { execFile } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootTestGuest } from './boot-test-guest.js';
import { guestDisks, setWriterInterval } from './guest-exec.js';
import { readWriterFsLog, readWriterLog } from './writer-log.js';
import { checkOrder, findStalls, mergeBySeq, recordsForSerial } from './writer-analysis.js';

const run = promisify(execFile);

void test(
  'the test guest boots, runs qemu-ga and writes one ordered sequence across its disks',
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp('/var/lib/strata-test/disks-');
    await chmod(dir, 0o755);
    const b = join(dir, 'b.raw');
    const c = join(dir, 'c.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'raw', b, '16M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', c, '16M']);
    const guest = await bootTestGuest({
      name: 'guest-selftest',
      dataDisks: [
        { path: b, format: 'raw', serial: 'disk-b' },
        { path: c, format: 'qcow2', serial: 'disk-c' },
      ],
    });
    try {
      const disks = await guestDisks(guest.name);
      assert.equal(disks.get('vdb'), 'disk-b');
      assert.equal(disks.get('vdc'), 'disk-c');
      await new Promise((r) => setTimeout(r, 3000));
      const onB = await readWriterLog(b);
      const onC = await readWriterLog(c, { format: 'qcow2' });
      assert.match(await guest.console(), /fs-disk vda/);
      const onRoot = await readWriterFsLog(guest.rootImage);
      assert.ok(onB.length > 5, `records on b: ${onB.length}`);
      assert.ok(onC.length > 5, `records on c: ${onC.length}`);
      assert.ok(onRoot.length > 0, 'records in the root filesystem log');
      assert.equal(recordsForSerial(onB, 'disk-b').length, onB.length);
      const all = mergeBySeq(onB, onC, onRoot);
      const order = checkOrder(all);
      assert.ok(order.ok, JSON.stringify(order));
      // the qcow2 copy and the raw read are taken at different instants: only the tail may differ
      assert.ok(
        order.missing.every((s) => s > Math.min(onB.at(-1)!.seq, onC.at(-1)!.seq, onRoot.at(-1)!.seq) - 3),
      );
      assert.equal(findStalls(all, 5000).length, 0);
      assert.match(await guest.console(), /disk-added vdb serial=disk-b/);

      // Paced to one round a second: the gaps between rounds grow to about a second.
      await setWriterInterval(guest.name, 1);
      const from = (await readWriterLog(b)).at(-1)!.seq;
      await new Promise((r) => setTimeout(r, 4000));
      const paced = (await readWriterLog(b)).filter((r) => r.seq > from + 3);
      assert.ok(paced.length >= 2 && paced.length <= 5, `records on b in 4 s, paced: ${paced.length}`);
      const gaps = paced.slice(1).map((r, i) => (r.timeUs - paced[i]!.timeUs) / 1000);
      assert.ok(
        gaps.every((g) => g > 700),
        `about a second between rounds: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
      );
    } finally {
      await guest.dispose();
      await run('rm', ['-rf', dir]);
    }
  },
);
