import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import { hostFiles, type HostFiles } from './host-files.js';
import { poolAgentHost } from './pool-agent.js';
import { startFileAgent, type FileAgent } from './testing/file-agent.js';

// The file commands end to end: the server's HostFiles over the real TLS channel to a real agent
// process, qemu-img on real files whose names hold quotes, spaces, $, ;, <> and a command
// substitution. The agent works only under its host state directory and its pool directory.
const run = promisify(execFile);
let dir = '';
let pool = '';
let state = '';
let agent: FileAgent;
let files: HostFiles;
const odd = `vol 'q' "d" $HOME ;ls <x> $(touch pwned)`;
const refused = (e: unknown) => isStrataError(e, 'FILE_PATH_REFUSED');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata host-files '));
  pool = join(dir, `pool "p" $x;<y>`);
  state = join(dir, `state 's'`);
  await mkdir(pool);
  await mkdir(state);
  agent = await startFileAgent({ dir: join(dir, 'hub'), hostStateDir: state, poolDirs: [pool] });
  files = hostFiles(agent.hub, agent.hostId);
});

after(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('overlays are made, read, rebased, committed and removed by the agent; replays are answered', async () => {
  const base = join(pool, `${odd}.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x11 0 64k', base]);
  const mid = join(pool, `${odd}.s1.qcow2`);
  const top = join(pool, `${odd}.s2.qcow2`);
  await files.createOverlay(mid, base);
  await files.createOverlay(top, mid);
  // a replay finds the overlay there and keeps it (its data too)
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x22 64k 64k', top]);
  await files.createOverlay(top, mid);
  const { stdout } = await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x22 64k 64k', top]);
  assert.doesNotMatch(stdout, /verification failed/);
  assert.deepEqual(
    (await files.chain(top))?.map((l) => [l.path, l.format]),
    [
      [top, 'qcow2'],
      [mid, 'qcow2'],
      [base, 'qcow2'],
    ],
  );
  assert.equal(await files.backingOf(top), mid);
  assert.equal(await files.chain(join(pool, 'never-was.qcow2')), null);
  // no half-made file is ever left behind
  assert.deepEqual(
    (await readdir(pool)).filter((n) => n.endsWith('.partial')),
    [],
  );

  // the same name over another backing is a conflict, never a silent overwrite
  await assert.rejects(files.createOverlay(top, base), (e) => isStrataError(e, 'FILE_CONFLICT'));

  await files.rebase(top, 'qcow2', { path: base, format: 'qcow2' });
  assert.equal(await files.backingOf(top), base);
  await files.commit(top);
  const committed = await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x22 64k 64k', base]);
  assert.doesNotMatch(committed.stdout, /verification failed/);

  assert.equal(await files.remove(top), true);
  assert.equal(await files.remove(top), false, 'removing again is fine');
  await assert.rejects(stat(top));
});

test('the state directory is listed by prefix; only regular files count', async () => {
  await writeFile(join(state, `vm-1.snap <a>.memory`), 'm');
  await writeFile(join(state, 'vm-1.snap-b.vda.qcow2'), 'o');
  await writeFile(join(state, 'vm-2.snap-c.memory'), 'x');
  await mkdir(join(state, 'vm-1.subdir'));
  assert.deepEqual(await files.list(state, 'vm-1.'), ['vm-1.snap <a>.memory', 'vm-1.snap-b.vda.qcow2']);
  assert.equal((await files.list(state))?.length, 3);
  assert.equal(await files.list(join(state, 'gone')), null);
  assert.equal(await files.remove(join(state, 'vm-2.snap-c.memory')), true);
  await assert.rejects(files.remove(join(state, 'vm-1.subdir')), refused);
});

test('the agent refuses every path outside what it serves, and links out of it', async () => {
  const outside = join(dir, 'outside.txt');
  await writeFile(outside, 'keep me');
  await assert.rejects(files.remove(outside), refused);
  await assert.rejects(files.remove(`${state}/../outside.txt`), refused);
  await assert.rejects(files.remove('/etc/hostname'), refused);
  await assert.rejects(files.list(dir), refused);
  await assert.rejects(files.createOverlay(join(dir, 'x.qcow2'), join(pool, 'b.qcow2')), refused);
  await assert.rejects(files.commit('relative.qcow2'), refused);
  // a directory link inside a root that leads out of it, and a file link qemu-img would follow
  await symlink(dir, join(pool, 'escape'));
  await assert.rejects(files.remove(join(pool, 'escape', 'outside.txt')), refused);
  await symlink(outside, join(pool, 'link.qcow2'));
  await assert.rejects(files.commit(join(pool, 'link.qcow2')), refused);
  await assert.rejects(files.remove(join(pool, 'link.qcow2')), refused);
  assert.equal((await stat(outside)).size, 7, 'nothing outside was touched');
  await assert.rejects(stat(join(process.cwd(), 'pwned')), 'no shell ever ran a name');
});

test('a pool file goes to an Up agent of its cluster that holds the pool, the VM host first; none is UNAVAILABLE', async () => {
  await agent.addPool('pool-files', pool);
  assert.equal(await poolAgentHost(agent.db, 'pool-files', 'some-other-host'), agent.hostId);
  assert.equal(await poolAgentHost(agent.db, 'pool-files', agent.hostId), agent.hostId);
  // the agent's facts list its pool directories: a pool it does not hold is never asked of it
  await agent.addPool('pool-elsewhere', join(dir, 'elsewhere'));
  await assert.rejects(
    poolAgentHost(agent.db, 'pool-elsewhere', agent.hostId),
    (e) => isStrataError(e, 'UNAVAILABLE') && String(e.params['reason']).includes('STRATA_AGENT_POOL_DIRS'),
  );
  await agent.db.query(`UPDATE hosts SET state = 'Down' WHERE id = $1`, [agent.hostId]);
  try {
    await assert.rejects(poolAgentHost(agent.db, 'pool-files'), (e) => isStrataError(e, 'UNAVAILABLE'));
  } finally {
    await agent.db.query(`UPDATE hosts SET state = 'Up' WHERE id = $1`, [agent.hostId]);
  }
  await assert.rejects(poolAgentHost(agent.db, 'no-such-pool'), (e) => isStrataError(e, 'NOT_FOUND'));
});
