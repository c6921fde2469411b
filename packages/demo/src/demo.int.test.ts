import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run as runCmd } from '@strata/testing';
import { runDemo, type DemoRun } from './demo.js';

const domainsOf = async (uri: string) =>
  (await runCmd('virsh', ['-q', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);

// The README's main job, end to end through real processes: the management server (main.js on
// PGlite), a host agent (its entry, over the TLS channel), libvirtd + QEMU running the tiny
// guest, a qcow2 pool, tgtd on an XFS reflink pool and a single-node Ceph; two KVM hosts, each
// its own libvirtd and agent in its own namespaces, the VM live-migrating from one to the other.
test(
  'the VM-snapshot demo: one snapshot across qcow2, iSCSI and RBD while the guest writes, a live migration to another host, reverted and checked',
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'strata-demo-'));
    const lines: string[] = [];
    let run: DemoRun | undefined;
    const children: ChildProcess[] = [];
    try {
      const port = 18_000 + Math.floor(Math.random() * 1000);
      run = await runDemo({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log: (l) => lines.push(l),
        track: (c) => children.push(c),
      });
      const { result } = run;
      assert.equal(result.snapshot.state, 'Ready');
      assert.equal(result.snapshot.consistency, 'filesystem');
      assert.ok((result.snapshot.freezeMs ?? -1) >= 0, 'the hold was measured');
      assert.ok(result.disks.length >= 3, 'root plus at least a qcow2 and an iSCSI data disk');
      for (const d of result.disks) {
        assert.ok(d.records > 0, `${d.label} holds writer records`);
        assert.ok(
          d.lastSeqAfterRevert < d.lastSeqBefore,
          `${d.label} went back in time (${d.lastSeqAfterRevert} < ${d.lastSeqBefore})`,
        );
      }
      assert.equal(result.orderOk, true, 'cross-disk order kept');
      const [a, b] = run.hosts;
      assert.ok(a && b, 'two KVM hosts');
      const m = result.migration;
      assert.ok(m, 'the VM was migrated');
      assert.deepEqual([m.from, m.to], [a.id, b.id], 'from the first host to the second');
      assert.ok(m.through.toSeq > m.through.fromSeq, 'the writer went on after the move');
      assert.equal(m.through.missing, 0, 'no write of the migration is missing on the disks');
      assert.deepEqual(await domainsOf(b.host.uri), [result.vmId], 'it runs on the second host');
      assert.deepEqual(await domainsOf(a.host.uri), [], 'and nothing is left on the first');
      assert.equal(result.missingBelowCut, 0, 'no write before the cut is missing');
      assert.ok(
        result.tree.some((l) => l.includes('<- current')),
        'the tree marks the current snapshot',
      );
      for (const v of run.verdicts) assert.ok(v.ok, v.check);
      for (const l of lines) t.diagnostic(l);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- demo log ---\n${lines.join('\n')}`, { cause: e });
    } finally {
      await run?.cleanup().catch(() => undefined);
      for (const c of children) c.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
