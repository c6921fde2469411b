import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import { strayLayers as stray } from '../orphans/files.js';
import type { References } from '../orphans/references.js';
import { hostFiles, type HostFiles } from '../orchestration/host-files.js';
import { startFileAgent, type FileAgent } from '../orchestration/testing/file-agent.js';
import { backingChain as chainOf, snapshotLayersUnder as layersUnder } from './layers.js';

// Real qcow2 chains made with qemu-img, read by a real agent process (file.chain): a chain that
// cannot be read (a backing file gone) must never pass for "stands on nothing", since delete and
// the collector remove what nothing uses.
const run = promisify(execFile);
let dir = '';
let agent: FileAgent;
let files: HostFiles;
const backingChain = (path: string) => chainOf(files, path);
const snapshotLayersUnder = (volumeId: string, path: string) => layersUnder(files, volumeId, path);
const strayLayers = (refs: References, warnings: string[]) =>
  stray(refs, () => Promise.resolve(files), warnings);
const vol = 'vol-chain';
const file = (n: string) => join(dir, n);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), `strata layers "q" $x;<>'`));
  agent = await startFileAgent({ dir: join(dir, 'hub'), hostStateDir: join(dir, 'state'), poolDirs: [dir] });
  files = hostFiles(agent.hub, agent.hostId);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', file(`${vol}.qcow2`), '16M']);
  let below = file(`${vol}.qcow2`);
  for (const s of ['s1', 's2', 's3']) {
    const top = file(`${vol}.vmsnap-${s}.qcow2`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', below, top]);
    below = top;
  }
});

after(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

const refsFor = (roots: string[]): References => ({
  pools: [{ id: 'p', provider: 'qcow2', url: `file://${dir}` }],
  volumes: [{ id: vol, poolId: 'p', vmId: null, backendRef: roots[0] ?? null, state: 'Ready' }],
  vmHost: new Map(),
  snapshotRefs: new Set(roots.slice(1)),
  snapshotFiles: new Set(roots.slice(1)),
  memoryFiles: new Set(),
  busyVms: new Set(),
  busyVolumes: new Set(),
  formerCopies: new Set(),
  knownVms: new Set(),
  transitional: [],
});

test('a readable chain lists every layer; a file that is gone stands on nothing', async () => {
  assert.deepEqual(await backingChain(file(`${vol}.vmsnap-s3.qcow2`)), [
    file(`${vol}.vmsnap-s3.qcow2`),
    file(`${vol}.vmsnap-s2.qcow2`),
    file(`${vol}.vmsnap-s1.qcow2`),
    file(`${vol}.qcow2`),
  ]);
  assert.deepEqual(await backingChain(file('never-was.qcow2')), []);
  assert.deepEqual(await snapshotLayersUnder(vol, file(`${vol}.vmsnap-s2.qcow2`)), [
    file(`${vol}.vmsnap-s2.qcow2`),
    file(`${vol}.vmsnap-s1.qcow2`),
  ]);
  const warnings: string[] = [];
  assert.deepEqual(await strayLayers(refsFor([file(`${vol}.vmsnap-s3.qcow2`)]), warnings), []);
  assert.deepEqual(warnings, []);
});

test('a chain with a backing file gone is an error, and the collector then calls nothing an orphan', async () => {
  await rm(file(`${vol}.vmsnap-s1.qcow2`));
  await assert.rejects(backingChain(file(`${vol}.vmsnap-s3.qcow2`)), (e) => isStrataError(e, 'INTERNAL'));
  // a delete offers only the file itself, never the layers it cannot see
  assert.deepEqual(await snapshotLayersUnder(vol, file(`${vol}.vmsnap-s3.qcow2`)), [
    file(`${vol}.vmsnap-s3.qcow2`),
  ]);
  const warnings: string[] = [];
  const orphans = await strayLayers(refsFor([file(`${vol}.vmsnap-s3.qcow2`)]), warnings);
  assert.deepEqual(orphans, [], 'no layer of a pool with an unreadable chain is reported');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /cannot read the backing chain/);
});
