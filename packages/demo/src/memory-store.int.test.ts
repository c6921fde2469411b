import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { discardVm } from './discard-vm.js';
import { addKvmHost, type JoinedKvmHost } from './kvm-hosts.js';
import type { JobView } from './rest.js';
import { waitForGuestAgent, type SnapshotView, type VolumeView } from './story.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const domains = async (uri: string) =>
  (await run('virsh', ['-q', '-c', uri, 'list', '--name'])).stdout.split('\n').filter(Boolean);

interface OrphanView {
  readonly kind: string;
  readonly ref: string;
  readonly hostId: string | null;
}

// Issue 20, item 6: memory states live in the snapshot store every host of the zone sees (like
// CloudStack's secondary storage), not in one host's state directory. A VM running on host a, on a
// qcow2 ROOT and a tgt LUN, takes a memory snapshot: its state is written to the store by a's
// libvirt. The VM live-migrates to b; reverting the memory snapshot there restores the running
// guest from that file, on b. The orphan scan sees a memory state no snapshot records, and the
// delete removes the snapshot's own from the store.
test(
  'a memory snapshot taken on one host reverts from the snapshot store on another after a live migration',
  { timeout: 1_200_000 },
  async (t) => {
    // No Ceph: the store is what is tested, and the machine is shared.
    process.env['STRATA_DEMO_CEPH'] = '0';
    const root = await mkdtemp('/var/tmp/strata-memstore-');
    // QEMU runs as its own user: it walks down to the pools and the store under the root
    await chmod(root, 0o755);
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    const hosts: JoinedKvmHost[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    try {
      const port = 19_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log,
        track: (c) => children.push(c),
      });
      const { rest } = env;
      const store = env.backends.snapshotStore;
      const sfx = Math.random().toString(36).slice(2, 6);
      const a = await addKvmHost(env, { name: `mem-a-${sfx}` });
      hosts.push(a);
      const b = await addKvmHost(env, { name: `mem-b-${sfx}` });
      hosts.push(b);
      const inStore = async (id: string) => (await readdir(store)).filter((n) => n.startsWith(`${id}.`));
      const inStateDir = async (h: JoinedKvmHost, id: string) =>
        (await h.host.exec('ls', ['-A', h.host.stateDir])).stdout
          .split('\n')
          .filter((n) => n.startsWith(`${id}.`));

      const { resource: vm } = await rest.run<{ id: string }>('/v1/vms/deploy', {
        name: `memory store ${sfx}`,
        templateId: env.cloud.templateId,
        poolId: env.cloud.pools.qcow2,
        memoryBytes: 128 * MiB,
        hostId: a.id,
        start: false,
      });
      vmId = vm.id;
      const lun = await rest.run<VolumeView>('/v1/volumes', {
        name: `lun of ${vm.id}`,
        poolId: env.cloud.pools.tgt,
        sizeBytes: 64 * MiB,
      });
      await rest.run(`/v1/volumes/${lun.resource.id}/attach`, { vmId: vm.id });
      await rest.run(`/v1/vms/${vm.id}/start`);
      const vmView = () => rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual(await vmView().then((v) => [v.state, v.hostId]), ['Running', a.id]);
      await waitForGuestAgent(vm.id, 180_000, a.host.uri);

      // The memory state goes to the store, written by a's libvirt; nothing stays in a's state dir.
      const made = await rest.run<SnapshotView>('/v1/vm-snapshots', {
        vmId: vm.id,
        name: 'memory <on a>',
        snapshotMemory: true,
      });
      const snap = made.resource;
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${snap.id}`)).state, 'Ready');
      const memory = `${vm.id}.${snap.id}.memory`;
      assert.deepEqual(await inStore(vm.id), [memory], 'the memory state is in the snapshot store');
      assert.deepEqual(await inStateDir(a, vm.id), [], "and not in a's state directory");

      // A live migration to b (the store and the qcow2 pool are at the same paths there).
      await rest.run(`/v1/vms/${vm.id}/migrate`, { hostId: b.id });
      assert.deepEqual(await vmView().then((v) => [v.state, v.hostId]), ['Running', b.id]);
      assert.deepEqual(await domains(b.host.uri), [vm.id], "it runs in b's libvirtd");
      assert.deepEqual(await domains(a.host.uri), [], 'and no longer on a');
      await waitForGuestAgent(vm.id, 180_000, b.host.uri);

      // The revert on b restores the running guest from the memory state in the store.
      await rest.run(`/v1/vms/${vm.id}/stop`);
      const reverted: JobView = (await rest.run<SnapshotView>(`/v1/vm-snapshots/${snap.id}/revert`)).job;
      const steps = await rest.get<Array<{ name: string; output: { resumed?: string } | null }>>(
        `/v1/jobs/${reverted.id}/steps`,
      );
      const resumed = steps.find((s) => s.name === 'vm-running')?.output?.resumed;
      log(`reverted on b: ${resumed ?? '?'}`);
      assert.equal(resumed, 'restored', 'brought back from its memory, not booted');
      assert.deepEqual(await vmView().then((v) => [v.state, v.hostId]), ['Running', b.id], 'Running on b');
      assert.deepEqual(await domains(b.host.uri), [vm.id]);
      assert.deepEqual(await domains(a.host.uri), []);
      await waitForGuestAgent(vm.id, 180_000, b.host.uri);
      assert.deepEqual(await inStore(vm.id), [memory], 'the revert keeps the memory state');

      // A memory state in the store that no snapshot records is an orphan, removed by a host that sees it.
      const stray = join(store, `${vm.id}.vmsnap-stray.memory`);
      await writeFile(stray, 'a memory state whose snapshot is gone');
      const report = await rest.get<{ orphans: OrphanView[]; warnings: string[] }>('/v1/orphans');
      log(`orphans: ${JSON.stringify(report)}`);
      const found = report.orphans.filter((o) => o.ref.startsWith(`${store}/`));
      assert.deepEqual(
        found.map((o) => [o.kind, o.ref]),
        [['file', stray]],
        'the stray memory state, and not the snapshot’s own',
      );
      assert.ok(
        [a.id, b.id, env.cloud.host.id].includes(found[0]?.hostId ?? ''),
        'named with a host that mounts the store',
      );
      await rm(stray);

      // The delete removes the memory state from the store, through an agent that sees it.
      await rest.runDelete(`/v1/vm-snapshots/${snap.id}`);
      assert.deepEqual(await inStore(vm.id), [], 'the memory state left the store');
      for (const h of hosts) assert.deepEqual(await inStateDir(h, vm.id), [], `nothing on ${h.name}`);
      await sleep(500);
    } catch (e) {
      // a failed job: what each of its steps said
      const job = /job \S+ ([0-9a-f-]{36}) failed/.exec(String(e))?.[1];
      if (job && env)
        log(`steps of ${job}: ${JSON.stringify(await env.rest.get(`/v1/jobs/${job}/steps`).catch(String))}`);
      for (const h of hosts) log(`--- agent log of ${h.name} ---\n${await h.agentLog()}`);
      for (const f of ['agent.log', 'server/server.log']) {
        const tail = (await readFile(join(root, f), 'utf8').catch(() => '')).slice(-3000);
        log(`--- ${f} ---\n${tail}`);
      }
      t.diagnostic(lines.join('\n'));
      throw e;
    } finally {
      await discardVm(env?.rest, vmId);
      for (const h of hosts) await h.stop().catch(() => undefined);
      for (const c of children.reverse()) c.kill('SIGTERM');
      await sleep(2_000);
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  },
);
