import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { backingChainOf, chainFromHeaders, type ChainLayer } from './qcow2-chain.js';

const run = promisify(execFile);

/** What qemu-img itself reports: the reference every answer is held to. */
async function qemuImg(path: string): Promise<ChainLayer[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as Array<{ filename: string; format: string }>).map((i) => ({
    path: i.filename,
    format: i.format,
  }));
}

const qcow2 = (file: string, backing?: { path: string; format: string }, extra: string[] = []) =>
  run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    ...extra,
    ...(backing ? ['-b', backing.path, '-F', backing.format] : []),
    file,
    ...(backing ? [] : ['16M']),
  ]);

// Every chain Strata makes is read from the headers, and reads exactly as qemu-img reads it; every
// other kind of chain goes to qemu-img. Names carry quotes, spaces and shell metacharacters.
test('qcow2 backing chains read from the headers match qemu-img', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), `strata chain "q" $x;'`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = (name: string) => join(dir, name);

  await t.test('a raw base under qcow2 layers, absolute names', async () => {
    await run('qemu-img', ['create', '-q', '-f', 'raw', f('base <raw>.img'), '16M']);
    await qcow2(f('l1 & $(x).qcow2'), { path: f('base <raw>.img'), format: 'raw' });
    await qcow2(f("l2 'top'.qcow2"), { path: f('l1 & $(x).qcow2'), format: 'qcow2' });
    const fast = await chainFromHeaders(f("l2 'top'.qcow2"));
    assert.deepEqual(fast, await qemuImg(f("l2 'top'.qcow2")));
    assert.deepEqual(
      fast?.map((l) => l.format),
      ['qcow2', 'qcow2', 'raw'],
    );
  });

  await t.test('a relative backing name resolves against the image directory', async () => {
    await mkdir(f('sub'));
    await qcow2(f('sub/base.qcow2'));
    await run('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      'base.qcow2',
      '-F',
      'qcow2',
      f('sub/top.qcow2'),
    ]);
    const fast = await chainFromHeaders(f('sub/top.qcow2'));
    assert.deepEqual(fast, await qemuImg(f('sub/top.qcow2')));
    assert.equal(fast?.[1]?.path, f('sub/base.qcow2'));
  });

  await t.test('qcow2 version 2 (compat 0.10) and a deep chain', async () => {
    let below = { path: f('v2-0.qcow2'), format: 'qcow2' };
    await qcow2(below.path, undefined, ['-o', 'compat=0.10']);
    for (let i = 1; i <= 12; i++) {
      const next = { path: f(`v2-${i}.qcow2`), format: 'qcow2' };
      await qcow2(next.path, below, i % 2 ? ['-o', 'compat=0.10'] : []);
      below = next;
    }
    const fast = await chainFromHeaders(below.path);
    assert.equal(fast?.length, 13);
    assert.deepEqual(fast, await qemuImg(below.path));
  });

  await t.test('what is not a plain chain is left to qemu-img', async () => {
    // A backing file named with a protocol prefix.
    await qcow2(f('proto-base.qcow2'));
    await qcow2(f('proto-top.qcow2'), { path: `file:${f('proto-base.qcow2')}`, format: 'qcow2' });
    assert.equal(await chainFromHeaders(f('proto-top.qcow2')), null);
    const slow = await backingChainOf(f('proto-top.qcow2'));
    assert.equal(slow.length, 2);
    assert.deepEqual(slow, await qemuImg(f('proto-top.qcow2')));
    // An external data file.
    await run('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      `data_file=${f('data.raw')}`,
      f('with-data.qcow2'),
      '16M',
    ]);
    assert.equal(await chainFromHeaders(f('with-data.qcow2')), null);
    // Not an image at all: qemu-img calls it raw.
    await writeFile(f('plain.bin'), 'not an image');
    assert.equal(await chainFromHeaders(f('plain.bin')), null);
    assert.deepEqual(await backingChainOf(f('plain.bin')), await qemuImg(f('plain.bin')));
  });

  await t.test('a hostile header is not trusted: no huge buffer, no endless walk', async () => {
    await qcow2(f('hostile-base.qcow2'));
    await qcow2(f('hostile.qcow2'), { path: f('hostile-base.qcow2'), format: 'qcow2' });
    // backing_file_size (header bytes 16..19) claims nearly 4 GiB
    const file = await open(f('hostile.qcow2'), 'r+');
    const size = Buffer.alloc(4);
    size.writeUInt32BE(0xfffffff0);
    await file.write(size, 0, 4, 16);
    await file.close();
    const before = process.memoryUsage().rss;
    assert.equal(await chainFromHeaders(f('hostile.qcow2')), null);
    const grewMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.ok(grewMiB < 64, `reading the header took ${grewMiB.toFixed(0)} MiB`);
    await assert.rejects(backingChainOf(f('hostile.qcow2')));
    // two images naming each other
    await qcow2(f('loop-a.qcow2'));
    await qcow2(f('loop-b.qcow2'), { path: f('loop-a.qcow2'), format: 'qcow2' });
    await run('qemu-img', ['rebase', '-u', '-F', 'qcow2', '-b', f('loop-b.qcow2'), f('loop-a.qcow2')]);
    assert.equal(await chainFromHeaders(f('loop-a.qcow2')), null);
  });

  await t.test('a missing file or backing file fails as qemu-img does', async () => {
    await qcow2(f('gone-base.qcow2'));
    await qcow2(f('orphan.qcow2'), { path: f('gone-base.qcow2'), format: 'qcow2' });
    await rm(f('gone-base.qcow2'));
    assert.equal(await chainFromHeaders(f('orphan.qcow2')), null);
    await assert.rejects(backingChainOf(f('orphan.qcow2')), /gone-base/);
    await assert.rejects(backingChainOf(f('never-was.qcow2')), /never-was/);
  });
});
