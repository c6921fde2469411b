import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { StrataError } from '@strata/core';
import { uniqueName } from '@strata/testing';
import { startGuestVm } from '../test-support/guest-vm.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function chain(path: string): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as Array<{ filename: string }>).map((i) => i.filename);
}

// Two block jobs of one domain asked for at once (the chain-depth policy streams every qcow2
// disk of a VM; a hypervisor-mode cut commits every transient overlay): QEMU 7.2 crashed when two
// of them ended together. The agent runs them one after the other: the domain keeps running and
// each disk ends on the chain asked for. A second job on the same disk is refused at once.
void test(
  'parallel block streams on two disks of one domain: both done in turn, the domain runs on',
  { timeout: 600_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-serial'), start: false });
    const data = await vm.makeImage('data.qcow2', 'qcow2', '64M');
    await vm.agent.attachDisk(
      vm.name,
      { volumeId: 'vol-data', target: 'vdb', source: { kind: 'file', path: data, format: 'qcow2' } },
      { live: false },
    );
    try {
      await vm.agent.startVm(vm.name);
      let active = { vda: vm.rootOverlay, vdb: data };
      for (let round = 1; round <= 3; round++) {
        // two snapshots of both disks, then both streamed back onto the layer under them
        const bases = { ...active };
        for (let i = 1; i <= 2; i++) {
          const next = {
            vda: join(vm.dir, `root.${round}.${i}.qcow2`),
            vdb: join(vm.dir, `data.${round}.${i}.qcow2`),
          };
          await vm.agent.diskOnlySnapshot(vm.name, [
            { target: 'vda', overlayPath: next.vda },
            { target: 'vdb', overlayPath: next.vdb },
          ]);
          active = next;
          await sleep(500);
        }
        const [a, ...onVdb] = await Promise.allSettled([
          vm.agent.blockStream(vm.name, 'vda', 120_000, bases.vda),
          vm.agent.blockStream(vm.name, 'vdb', 120_000, bases.vdb),
          vm.agent.blockStream(vm.name, 'vdb', 120_000, bases.vdb),
        ]);
        const why = (r: PromiseSettledResult<unknown>) =>
          r.status === 'rejected' ? String((r.reason as Error).message) : 'fulfilled';
        assert.equal(a.status, 'fulfilled', `round ${round}: vda streamed (${why(a)})`);
        // Of the two asked for vdb at once, whichever reaches the agent first streams; the other is
        // refused at once (which one is a race between the two calls, not a property of the agent).
        const streamed = onVdb.filter((r) => r.status === 'fulfilled');
        const refused = onVdb.filter(
          (r) => r.status === 'rejected' && r.reason instanceof StrataError && r.reason.code === 'CONFLICT',
        );
        assert.deepEqual(
          [streamed.length, refused.length],
          [1, 1],
          `round ${round}: one vdb stream ran, a second job on the same disk was refused (${onVdb.map(why).join('; ')})`,
        );
        assert.equal((await vm.agent.vmState(vm.name)).state, 'running', `round ${round}: the domain runs`);
        assert.equal((await chain(active.vda))[1], bases.vda);
        assert.equal((await chain(active.vdb))[1], bases.vdb);
      }
    } finally {
      await vm.dispose();
    }
  },
);
