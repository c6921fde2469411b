import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from './run.js';
import { sweepStaleTargets, targetBackings } from './stale-targets.js';
import { ensureTgtd } from './tgtd.js';

const tgtadm = (...args: string[]) => run('tgtadm', ['--lld', 'iscsi', ...args], 30_000);

/** A new target on a free tid; tids taken by parallel tests are skipped. */
async function newTarget(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tid = 1000 + Math.floor(Math.random() * 60_000);
    const iqn = `iqn.2026-11.io.strata.test:sweep-${randomBytes(4).toString('hex')}`;
    try {
      await tgtadm('--op', 'new', '--mode', 'target', '--tid', String(tid), '--targetname', iqn);
      return tid;
    } catch {
      // taken: try another
    }
  }
  throw new Error('no free tgt tid');
}

const tids = async () =>
  targetBackings((await tgtadm('--op', 'show', '--mode', 'target')).stdout).map((t) => t.tid);

void test('a real tgtd: the sweep deletes targets whose files are gone, and only those', async () => {
  await ensureTgtd();
  const dir = await mkdtemp(join(tmpdir(), 'strata-sweep-'));
  const kept = await newTarget();
  const gone = await newTarget();
  const bare = await newTarget();
  try {
    for (const [tid, name] of [
      [kept, 'kept.raw'],
      [gone, 'gone.raw'],
    ] as const) {
      const file = join(dir, name);
      await writeFile(file, Buffer.alloc(1024 * 1024));
      await tgtadm(
        '--op',
        'new',
        '--mode',
        'logicalunit',
        '--tid',
        String(tid),
        '--lun',
        '1',
        '--backing-store',
        file,
      );
    }
    await rm(join(dir, 'gone.raw'));
    await sweepStaleTargets();
    const left = await tids();
    assert.ok(left.includes(kept), 'a target whose file is there stays');
    assert.ok(!left.includes(gone), 'a target whose file is gone is deleted');
    assert.ok(left.includes(bare), 'a target with no LUN yet (being made) stays');
  } finally {
    for (const tid of [kept, gone, bare])
      await tgtadm('--op', 'delete', '--mode', 'target', '--tid', String(tid), '--force').catch(
        () => undefined,
      );
    await rm(dir, { recursive: true, force: true });
  }
});
