import assert from 'node:assert/strict';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureTgtd } from '@strata/testing';
import { releaseOrphanedTgtPools, tgtPoolDir } from './tgt-pool-dir.js';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

// Integration: releaseOrphanedTgtPools also sweeps the real tgtd's targets whose files it removed.
void test('tgt pool directories: one per root, found again by it, released when the root is gone', async () => {
  await ensureTgtd();
  const parent = await mkdtemp(join(tmpdir(), 'strata-pools-'));
  const live = await mkdtemp(join(tmpdir(), 'strata-root "a" <&> $(x) '));
  const ended = await mkdtemp(join(tmpdir(), 'strata-root-b-'));
  try {
    const a = await tgtPoolDir(parent, live);
    assert.equal(await tgtPoolDir(parent, live), a, 'the same root finds its pool again');
    const b = await tgtPoolDir(parent, ended);
    assert.notEqual(a, b);
    await rm(ended, { recursive: true });
    await releaseOrphanedTgtPools(parent);
    assert.equal(await exists(a), true, 'a live root keeps its pool');
    assert.equal(await exists(b), false, 'an ended root loses its pool');
    assert.deepEqual(
      (await readdir(parent)).sort(),
      [`${a.split('/').at(-1)}`, `${a.split('/').at(-1)}.owner`].sort(),
    );
  } finally {
    await rm(parent, { recursive: true, force: true });
    await rm(live, { recursive: true, force: true });
  }
});
