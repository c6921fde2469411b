import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { checkOrder, mergeBySeq, readWriterFsLog, readWriterLog, type WriterRecord } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { buildQcow2Vm } from './qcow2-vm.js';
import type { JobView } from './rest.js';
import { readAll, waitForGuestAgent, type DemoDisk, type SnapshotView, type VolumeView } from './story.js';
import { discardVm } from './discard-vm.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_DEPTH = 4;

/** Images in a file's backing chain, the file itself included (-U: the VM may be running). */
async function chainDepth(path: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as unknown[]).length;
}

/** What a disk's file reads as now, through its whole chain (the running guest's frozen files too). */
async function recordsOf(d: DemoDisk, path: string): Promise<WriterRecord[]> {
  return d.kind === 'root-fs' ? readWriterFsLog(path, 'qcow2') : readWriterLog(path, { format: 'qcow2' });
}

const lastSeq = (m: ReadonlyMap<string, readonly WriterRecord[]>) =>
  Math.max(...[...m.values()].map((r) => r.at(-1)?.seq ?? 0));

// The hypervisor strategy's chain-depth policy on the real guest: N+3 snapshots of a qcow2-only
// VM keep every disk's active chain at most N deep, and the first and the last snapshot still
// revert to exactly what their files held when they were taken; deleting them all leaves no layer.
test(
  `chain depth: ${MAX_DEPTH + 3} snapshots keep the active chain at most ${MAX_DEPTH} deep; first and last still revert`,
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'strata-chain-'));
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    const saved = process.env['STRATA_MAX_CHAIN_DEPTH'];
    process.env['STRATA_MAX_CHAIN_DEPTH'] = String(MAX_DEPTH); // the server process inherits it
    try {
      const port = 21_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log: (l) => lines.push(l),
        track: (c) => children.push(c),
      });
      const { rest } = env;
      const { vm, disks } = await buildQcow2Vm(rest, env.cloud, (l) => lines.push(l), {
        name: `chain "depth" <vm> $(id)`,
      });
      vmId = vm.id;
      await waitForGuestAgent(vm.id);
      await sleep(2_000);

      const active = async (d: DemoDisk) =>
        (await rest.get<VolumeView>(`/v1/volumes/${d.volume.id}`)).backendRef!;
      const count = MAX_DEPTH + 3;
      const snaps: SnapshotView[] = [];
      const frozen = new Map<number, Map<string, WriterRecord[]>>();
      const depths: number[] = [];
      for (let i = 1; i <= count; i++) {
        // The active layer now becomes this snapshot's frozen file.
        const before = await Promise.all(disks.map(active));
        const s = (
          await rest.run<SnapshotView>('/v1/vm-snapshots', {
            vmId: vm.id,
            name: `s${i} <${i}>`,
            quiesce: 'guest',
          })
        ).resource;
        snaps.push(s);
        for (const d of disks) depths.push(await chainDepth(await active(d)));
        if (i === 1 || i === count) {
          const read = new Map<string, WriterRecord[]>();
          for (const [k, d] of disks.entries()) read.set(d.label, await recordsOf(d, before[k]!));
          frozen.set(i, read);
        }
        await sleep(1_000);
      }
      t.diagnostic(`active chain depths after each snapshot (per disk): ${depths.join(' ')}`);
      assert.ok(
        depths.every((d) => d <= MAX_DEPTH),
        `every active chain stays at most ${MAX_DEPTH} deep: ${depths.join(' ')}`,
      );
      assert.ok(depths.includes(MAX_DEPTH), 'the chains did reach the bound (the policy had work to do)');

      await rest.run(`/v1/vms/${vm.id}/stop`);
      for (const i of [1, count]) {
        await rest.run(`/v1/vm-snapshots/${snaps[i - 1]!.id}/revert`);
        const back = await readAll(rest, disks);
        const want = frozen.get(i)!;
        for (const d of disks) {
          assert.ok((want.get(d.label)?.length ?? 0) > 0, `s${i} ${d.label} holds writer records`);
          assert.deepEqual(
            back.get(d.label),
            want.get(d.label),
            `s${i} ${d.label} reads as when it was taken`,
          );
        }
        const order = checkOrder(mergeBySeq(...back.values()));
        assert.ok(order.ok, `s${i}: cross-disk order kept`);
        assert.equal(order.missing.length, 0, `s${i}: no write acknowledged before the freeze is missing`);
        for (const d of disks)
          assert.ok(
            (await chainDepth(await active(d))) <= MAX_DEPTH,
            `after reverting to s${i}, ${d.label} within the bound`,
          );
        frozen.set(-i, back);
      }
      assert.ok(
        lastSeq(frozen.get(-1)!) < lastSeq(frozen.get(-count)!),
        'the last snapshot holds later writes than the first',
      );

      // Deleting every snapshot, oldest first, merges or drops every layer: the files the
      // flatten left off the active chain included. The disks still read as after the last revert.
      for (const s of snaps) {
        const { job } = await rest.api.request<{ job: JobView }>('DELETE', `/v1/vm-snapshots/${s.id}`);
        await rest.waitJob(job);
      }
      const orphans = await rest.get<{ orphans: Array<{ kind: string; ref: string }> }>('/v1/orphans');
      assert.deepEqual(
        orphans.orphans.filter((o) => o.kind === 'file').map((o) => o.ref),
        [],
        'no layer of a deleted snapshot is left',
      );
      const after = await readAll(rest, disks);
      for (const d of disks)
        assert.deepEqual(after.get(d.label), frozen.get(-count)!.get(d.label), `${d.label} kept its data`);
    } catch (e) {
      const agentLog = await readFile(join(root, 'agent.log'), 'utf8').catch(() => '');
      const tail = agentLog.split('\n').slice(-15).join('\n');
      throw new Error(`${(e as Error).message}\n--- log ---\n${lines.join('\n')}\n--- agent ---\n${tail}`, {
        cause: e,
      });
    } finally {
      if (saved === undefined) delete process.env['STRATA_MAX_CHAIN_DEPTH'];
      else process.env['STRATA_MAX_CHAIN_DEPTH'] = saved;
      await discardVm(env?.rest, vmId);
      for (const c of children) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
