import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostProcesses, run } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { discardVm } from './discard-vm.js';
import { addKvmHost, type HostView, type JoinedKvmHost } from './kvm-hosts.js';
import type { Accepted, Page } from './rest.js';
import { waitForGuestAgent, type SnapshotView, type VolumeView } from './story.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const domains = async (uri: string) =>
  (await run('virsh', ['-q', '-c', uri, 'list', '--name'])).stdout.split('\n').filter(Boolean);
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
/** The files of the VM in a host's state directory, as that host sees it. */
const vmFilesOn = async (h: JoinedKvmHost, vmId: string) =>
  (await h.host.exec('ls', ['-A', h.host.stateDir])).stdout
    .split('\n')
    .filter((n) => n.startsWith(`${vmId}.`));

// Issue 20, item 3: several KVM hosts in one whole-stack environment on one machine. The demo's
// server and host (this machine's libvirtd, also the storage node), and two more KVM hosts, each
// its own libvirtd and agent in its own namespaces, one told it is smaller than the machine. A VM
// named to one of them runs there and nowhere else, on a qcow2 ROOT, an iSCSI LUN that tgt
// opens only to that host's initiator and an RBD image; its snapshots (a hypervisor-held cut, whose transient
// overlays live in the host state directory, and a memory state) and a revert work there and leave
// no transient file behind; it live-migrates to the other host, where a snapshot taken before the
// move reverts, and back when that host enters maintenance; stopping the hosts leaves nothing.
test(
  'two namespaced KVM hosts join Up with their own initiator and capacity; a VM named to one runs, snapshots and reverts there only',
  { timeout: 1_200_000 },
  async (t) => {
    const root = await mkdtemp('/var/tmp/strata-hosts-');
    // QEMU runs as its own user: it walks down to the pools under the root
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
      const sfx = Math.random().toString(36).slice(2, 6);
      const t0 = Date.now();
      const a = await addKvmHost(env, { name: `kvm-a-${sfx}`, cpus: 1, memoryBytes: GiB });
      hosts.push(a);
      const b = await addKvmHost(env, { name: `kvm-b-${sfx}`, memoryBytes: 2 * GiB });
      hosts.push(b);
      log(`two hosts joined in ${Date.now() - t0} ms: ${a.id} ${b.id}`);

      const listed = (await rest.get<Page<HostView>>('/v1/hosts', { limit: 100 })).items;
      const view = (id: string) => listed.find((h) => h.id === id);
      assert.equal(listed.filter((h) => h.state === 'Up').length, 3, 'the demo host and two more are Up');
      assert.deepEqual(
        [a, b].map((h) => {
          const v = view(h.id);
          return [v?.name, v?.state, v?.iscsiInitiator, v?.cpus, v?.memoryBytes];
        }),
        [
          [a.name, 'Up', a.host.initiatorName, 1, GiB],
          [b.name, 'Up', b.host.initiatorName, cpus().length, 2 * GiB],
        ],
        'each reports its own name, initiator and the capacity it was told',
      );
      assert.ok(![a, b].some((h) => h.host.initiatorName === env?.cloud.host.iscsiInitiator));

      // A VM named to host a: a qcow2 ROOT and a LUN on tgt, bound to a's initiator only.
      const { resource: vm } = await rest.run<{ id: string; hostId: string | null }>('/v1/vms/deploy', {
        name: `on ${a.name} <'&'> "x"`,
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
      // and an RBD image, opened by each host with its own cephx secret in its own libvirt
      if (env.cloud.pools.rbd) {
        const image = await rest.run<VolumeView>('/v1/volumes', {
          name: `rbd of ${vm.id}`,
          poolId: env.cloud.pools.rbd,
          sizeBytes: 64 * MiB,
        });
        await rest.run(`/v1/volumes/${image.resource.id}/attach`, { vmId: vm.id });
      }
      await rest.run(`/v1/vms/${vm.id}/start`);
      const started = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([started.state, started.hostId], ['Running', a.id]);
      assert.deepEqual(await domains(a.host.uri), [vm.id], "it runs in a's libvirtd");
      assert.ok(!(await domains(b.host.uri)).includes(vm.id), "and not in b's");
      assert.ok(!(await domains('qemu:///system')).includes(vm.id), "nor in the machine's");
      await waitForGuestAgent(vm.id, 180_000, a.host.uri);
      await sleep(3_000);

      // A cut held by the hypervisor: the LUN gets a transient overlay in a's state directory.
      const s1 = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: 'held <a>',
          quiesce: 'hypervisor',
        })
      ).resource;
      const s1v = await rest.get<SnapshotView>(`/v1/vm-snapshots/${s1.id}`);
      log(`s1: ${s1v.state}, ${s1v.strategy}, ${s1v.consistency}`);
      assert.equal(s1v.state, 'Ready');
      assert.deepEqual(await vmFilesOn(a, vm.id), [], 'its transient overlays are gone from a');
      await sleep(2_000);
      const s2 = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', {
          vmId: vm.id,
          name: 'memory "a"',
          snapshotMemory: true,
        })
      ).resource;
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${s2.id}`)).state, 'Ready');
      const memory = `${vm.id}.${s2.id}.memory`;
      const store = env.backends.snapshotStore;
      const inStore = async () => (await readdir(store)).filter((n) => n.startsWith(`${vm.id}.`));
      assert.deepEqual(await vmFilesOn(a, vm.id), [], "the memory state is not in a's state directory");
      assert.deepEqual(await inStore(), [memory], 'but in the snapshot store every host sees');

      await rest.run(`/v1/vms/${vm.id}/stop`);
      await rest.run(`/v1/vm-snapshots/${s2.id}/revert`);
      const reverted = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([reverted.state, reverted.hostId], ['Running', a.id], 'back from its memory, on a');
      assert.deepEqual(await domains(a.host.uri), [vm.id]);
      assert.deepEqual(await vmFilesOn(a, vm.id), [], 'no transient file left on a');

      // The memory snapshot goes before the move (memory-store.int.test.ts reverts one after a
      // move), its state from the store with it. s1, a disk-only cut, stays: it is reverted on b.
      await rest.runDelete(`/v1/vm-snapshots/${s2.id}`);
      assert.deepEqual(await inStore(), [], 'its memory state left the store');
      assert.deepEqual(
        await vmFilesOn(a, vm.id),
        [],
        'no file of the VM is left in the state directory of a',
      );
      assert.deepEqual((await b.host.exec('ls', ['-A', b.host.stateDir])).stdout, '', "b's stays empty");
      const onMachine = (await readdir('/var/lib/strata/state').catch(() => [])).filter((n) =>
        n.startsWith(vm.id),
      );
      assert.deepEqual(onMachine, [], "nothing of it in the machine's state directory");

      // Issue 20, item 5: a live migration from a to b, placement choosing (a host must take
      // migrations: the machine's own agent names no migration URI, so b is the only choice).
      const choices = await rest.get<Array<{ hostId: string; suitable: boolean; reason: string | null }>>(
        `/v1/vms/${vm.id}/migration-hosts`,
      );
      log(`migration hosts: ${JSON.stringify(choices)}`);
      assert.deepEqual(
        choices.filter((c) => c.suitable).map((c) => c.hostId),
        [b.id],
        'b is the one host a migration may go to',
      );
      await waitForGuestAgent(vm.id, 180_000, a.host.uri);
      const moved = await rest.run<{ id: string }>(`/v1/vms/${vm.id}/migrate`, {});
      const steps = await rest.get<Array<{ name: string; phase: string }>>(`/v1/jobs/${moved.job.id}/steps`);
      log(
        `migrated: ${steps
          .filter((x) => x.phase === 'run')
          .map((x) => x.name)
          .join(', ')}`,
      );
      const after = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([after.state, after.hostId], ['Running', b.id], 'recorded on b, still Running');
      assert.deepEqual(await domains(b.host.uri), [vm.id], "it runs in b's libvirtd");
      assert.deepEqual(await domains(a.host.uri), [], 'and no longer in a’s');
      const defined = (await run('virsh', ['-q', '-c', a.host.uri, 'list', '--all', '--name'])).stdout;
      assert.ok(!defined.includes(vm.id), 'its definition left a too');
      await waitForGuestAgent(vm.id, 180_000, b.host.uri);
      // On b, its disks (the LUN now opened to b's initiator) take a VM snapshot.
      const s3 = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', { vmId: vm.id, name: 'on b', quiesce: 'hypervisor' })
      ).resource;
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${s3.id}`)).state, 'Ready');
      await rest.runDelete(`/v1/vm-snapshots/${s3.id}`);
      // The snapshot taken on a before the move reverts on b, and is deleted there.
      await rest.run(`/v1/vms/${vm.id}/stop`);
      await rest.run(`/v1/vm-snapshots/${s1.id}/revert`);
      await rest.run(`/v1/vms/${vm.id}/start`);
      const back = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([back.state, back.hostId], ['Running', b.id], 'reverted to s1, running on b');
      assert.deepEqual(await domains(b.host.uri), [vm.id]);
      await rest.runDelete(`/v1/vm-snapshots/${s1.id}`);
      assert.deepEqual(await vmFilesOn(b, vm.id), [], 'no file of the VM is left on b');

      // Issue 20, item 7: maintenance of b is a job that live-migrates its running VM away first
      // (to a, the other host that takes migrations), then b is in Maintenance.
      await waitForGuestAgent(vm.id, 180_000, b.host.uri);
      const hostState = async (id: string) => (await rest.get<HostView>(`/v1/hosts/${id}`)).state;
      const maint = await rest.run<HostView>(`/v1/hosts/${b.id}/maintenance`, {});
      log(`maintenance of b: ${JSON.stringify(maint.job.result)}`);
      assert.equal(await hostState(b.id), 'Maintenance');
      const evacuated = await rest.get<{ state: string; hostId: string }>(`/v1/vms/${vm.id}`);
      assert.deepEqual([evacuated.state, evacuated.hostId], ['Running', a.id], 'the VM moved to a, running');
      assert.deepEqual(await domains(a.host.uri), [vm.id], "it runs in a's libvirtd");
      assert.deepEqual(await domains(b.host.uri), [], 'and nothing runs on b');
      // With b in maintenance and the machine's host taking no migrations, a's VM has nowhere to go:
      // the job is refused with the reason, a stays Up and its VM where it was.
      const refusedJob = await rest.post<Accepted<HostView>>(`/v1/hosts/${a.id}/maintenance`);
      const refused = await rest.waitJob(refusedJob.job).then(
        () => 'succeeded',
        (e: Error) => e.message,
      );
      log(`maintenance of a: ${refused}`);
      assert.match(refused, /HOST_MAINTENANCE_FAILED: .*no room/, 'refused, saying why');
      assert.equal(await hostState(a.id), 'Up', 'a is Up again');
      assert.deepEqual(await domains(a.host.uri), [vm.id], 'its VM still runs there');
      // Cancel brings b back.
      await rest.api.request('DELETE', `/v1/hosts/${b.id}/maintenance`);
      assert.equal(await hostState(b.id), 'Up');

      await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
      for (const h of [...hosts]) {
        const runDir = join(h.host.dir, 'run');
        await h.stop();
        hosts.splice(hosts.indexOf(h), 1);
        assert.deepEqual(await hostProcesses(runDir), [], `no process of ${h.name} is left`);
        assert.equal(await exists(h.host.dir), false, `no directory of ${h.name} is left`);
        const mounts = await readFile('/proc/self/mountinfo', 'utf8');
        assert.ok(!mounts.includes(h.host.dir), `no mount of ${h.name} is left`);
      }
    } catch (e) {
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
