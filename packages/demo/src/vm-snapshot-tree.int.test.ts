import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTestDatabase, dropTestDatabase } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { buildDemoVm, readAll, waitForGuestAgent, type SnapshotView, type TreeNode } from './story.js';
import { discardVm } from './discard-vm.js';
import { addKvmHost, type JoinedKvmHost } from './kvm-hosts.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lastSeq = (m: Map<string, Array<{ seq: number }>>) =>
  Math.max(...[...m.values()].map((r) => r.at(-1)?.seq ?? 0));

// VM snapshots as a tree, through the REST API on real processes and storage: explain, two
// snapshots, revert to the older one without losing the newer, revert forward, delete with merge.
// The server runs on PostgreSQL here (the demo test runs the same stack on PGlite).
test(
  'snapshot tree: explain, revert backward and forward, delete merges, a running VM is not reverted silently',
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'strata-tree-'));
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    const hosts: JoinedKvmHost[] = [];
    const databaseUrl = await createTestDatabase('tree');
    try {
      const port = 19_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        databaseUrl,
        log: (l) => lines.push(l),
        track: (c) => children.push(c),
      });
      const { rest } = env;
      // Across machines (issue 20): the VM runs on one of two KVM hosts, each its own libvirtd and
      // agent in its own namespaces; its snapshots are taken there and reverted and deleted on the other.
      const sfx = Math.random().toString(36).slice(2, 6);
      for (const n of ['a', 'b'])
        hosts.push(await addKvmHost(env, { name: `tree-${n}-${sfx}`, track: (c) => children.push(c) }));
      const [a, b] = hosts as [JoinedKvmHost, JoinedKvmHost];
      const on = { id: a.id, name: a.name, uri: a.host.uri, initiatorName: a.host.initiatorName };
      const { vm, disks } = await buildDemoVm(rest, env.backends, env.cloud, (l) => lines.push(l), on);
      vmId = vm.id;

      const explained = await rest.get<{
        chosen: string;
        explanation: Array<{ strategy: string; priority: string; reason: string }>;
      }>(`/v1/vms/${vm.id}/snapshot-strategies`, { quiesce: 'hypervisor' });
      assert.equal(explained.chosen, 'storage');
      const hyp = explained.explanation.find((e) => e.strategy === 'hypervisor');
      assert.equal(hyp?.priority, 'CANT_HANDLE');
      assert.match(hyp?.reason ?? '', /tgt/, 'the hypervisor strategy says which disk it cannot take');

      await waitForGuestAgent(vm.id, 180_000, a.host.uri);
      await sleep(3_000);
      const s1 = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: 's1 <first>',
          quiesce: 'hypervisor',
        })
      ).resource;
      await sleep(3_000);
      const s2 = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: "s2 'second'",
          quiesce: 'hypervisor',
        })
      ).resource;
      await sleep(2_000);

      // A storage-level revert of a running VM is refused at once with its code: never a silent no-op.
      await assert.rejects(
        rest.post(`/v1/vm-snapshots/${s1.id}/revert`),
        (e: unknown) => (e as { code?: string }).code === 'REVERT_NEEDS_STOP',
      );
      await rest.run(`/v1/vms/${vm.id}/migrate`, { hostId: b.id });
      const moved = await rest.get<{ hostId: string; state: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([moved.hostId, moved.state], [b.id, 'Running'], 'it runs on b now');
      await sleep(2_000);
      await rest.run(`/v1/vms/${vm.id}/stop`);
      const atStop = lastSeq(await readAll(rest, disks));

      await rest.run(`/v1/vm-snapshots/${s1.id}/revert`);
      const atS1 = await readAll(rest, disks);
      await rest.run(`/v1/vm-snapshots/${s2.id}/revert`);
      const atS2 = await readAll(rest, disks);
      t.diagnostic(`last write: ${lastSeq(atS1)} at s1, ${lastSeq(atS2)} at s2, ${atStop} at stop`);
      assert.ok(lastSeq(atS1) < lastSeq(atS2), 'reverting to s1 did not lose s2: its later writes come back');
      assert.ok(lastSeq(atS2) < atStop, 'writes after s2 are gone');

      const tree = await rest.get<{ currentId: string | null; roots: TreeNode[] }>(
        `/v1/vms/${vm.id}/snapshot-tree`,
      );
      assert.equal(tree.currentId, s2.id);
      assert.equal(tree.roots[0]?.id, s1.id);
      assert.equal(tree.roots[0]?.children[0]?.id, s2.id);

      await rest.runDelete(`/v1/vm-snapshots/${s2.id}`);
      const afterDelete = await readAll(rest, disks);
      assert.equal(
        lastSeq(afterDelete),
        lastSeq(atS2),
        'deleting s2 merged its layer: the disks still read as at s2',
      );
      const tree2 = await rest.get<{ currentId: string | null; roots: TreeNode[] }>(
        `/v1/vms/${vm.id}/snapshot-tree`,
      );
      assert.deepEqual(
        tree2.roots.map((r) => r.id),
        [s1.id],
      );
      assert.equal(tree2.currentId, s1.id, 'the current pointer moved to the parent');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.join('\n')}`, { cause: e });
    } finally {
      await discardVm(env?.rest, vmId);
      for (const h of hosts) await h.stop().catch(() => undefined);
      for (const c of children) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
      await dropTestDatabase(databaseUrl).catch(() => undefined);
    }
  },
);
