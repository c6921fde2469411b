import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { hostFiles } from '../orchestration/host-files.js';
import { startFileAgent } from '../orchestration/testing/file-agent.js';
import { keepChainsShallow } from './chain-depth.js';
import type { StoredPlan } from './create-job.js';

const run = promisify(execFile);
const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

// A stopped VM's disk: the policy has the pool's agent (a real agent process) rebase the active
// layer with qemu-img (safe mode) onto a shallower ancestor; what the disk reads stays the same
// and the skipped layers stay untouched.
void test('a stopped disk past the bound is rebased onto an ancestor; data and skipped layers unchanged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata chain "depth" $x '));
  const agent = await startFileAgent({
    dir: join(dir, 'hub'),
    hostStateDir: join(dir, 'state'),
    poolDirs: [dir],
  });
  try {
    await agent.addPool('pool-1', dir);
    // base <- l1 <- ... <- l6 (active), each layer writing its own 64 KiB pattern plus one shared block
    const layers = Array.from({ length: 7 }, (_, i) => join(dir, `layer ${i}.qcow2`));
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', layers[0]!, '8M']);
    for (let i = 1; i < layers.length; i++)
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', layers[i - 1]!, layers[i]!]);
    for (let i = 0; i < layers.length; i++) {
      const cmds = ['-c', `write -P ${0x10 + i} ${i * 65536} 65536`, '-c', `write -P ${0x10 + i} 1M 4096`];
      await run('qemu-io', ['-f', 'qcow2', ...cmds, layers[i]!]);
    }
    const active = layers.at(-1)!;
    const before = join(dir, 'before.raw');
    await run('qemu-img', ['convert', '-O', 'raw', active, before]);
    const skippedBefore = await Promise.all(layers.slice(0, -1).map(sha));

    const plan: StoredPlan = {
      strategy: 'hypervisor',
      explanation: [],
      quiesce: 'none',
      type: 'Disk',
      vmId: 'vm-1',
      vmName: 'vm-1',
      vmRunning: false,
      hostId: null,
      disks: [
        {
          volumeId: 'vol-1',
          target: 'vda',
          poolId: 'pool-1',
          frozenPath: active,
          overlayPath: join(dir, 'next.qcow2'),
          transientPath: null,
        },
      ],
      memoryPath: null,
      holdDeadlineMs: 5000,
    };
    const deps = { db: agent.db, agent: agent.hub };
    const [outcome] = await keepChainsShallow(deps, plan, { signal: new AbortController().signal }, 5);
    assert.equal(outcome?.depthBefore, 7);
    assert.equal(outcome?.depthAfter, 2);
    const chain = await hostFiles(agent.hub, agent.hostId).chain(active);
    assert.deepEqual(
      chain?.map((l) => l.path),
      [active, layers[0]],
    );
    await run('qemu-img', ['compare', '-q', '-f', 'qcow2', '-F', 'raw', active, before]);
    assert.deepEqual(
      await Promise.all(layers.slice(0, -1).map(sha)),
      skippedBefore,
      'skipped layers unchanged',
    );
    // the skipped layers still read as they did (a snapshot's frozen file reverts as before)
    const l3 = join(dir, 'l3.raw');
    await run('qemu-img', ['convert', '-O', 'raw', layers[3]!, l3]);
    // qemu-io exits non-zero (the promise rejects) when the pattern does not match
    const { stdout } = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 0x13 1M 4096', l3]);
    assert.doesNotMatch(stdout, /verification failed/);

    const [again] = await keepChainsShallow(deps, plan, { signal: new AbortController().signal }, 5);
    assert.equal(again?.base, null, 'a chain within the bound is left alone');
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
