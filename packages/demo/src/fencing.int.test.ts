import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { discardVm } from './discard-vm.js';
import {
  blocklisted,
  diskAlias,
  lunHolds,
  qemuWrite,
  rbdHolds,
  rbdRead,
  rbdWatchers,
  tgtTargetOf,
} from './fence-checks.js';
import { addKvmHost, type HostView, type JoinedKvmHost } from './kvm-hosts.js';
import { waitUntil } from './processes.js';
import type { Accepted } from './rest.js';
import type { VolumeView } from './story.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The server's reconnect grace in this test: a lost host is fenced this long after its agent went. */
const GRACE_MS = 10_000;
const domains = async (uri: string, all = false) =>
  (await run('virsh', ['-q', '-c', uri, 'list', ...(all ? ['--all'] : []), '--name'])).stdout
    .split('\n')
    .filter(Boolean);

// Issue 20, item 4: a VM whose host is down starts on another host only after that host is fenced
// from its disks. Two namespaced KVM hosts; a VM on a with a qcow2 ROOT on the shared pool, a tgt
// LUN and an RBD image. a's agent is SIGKILLed (its QEMU goes on running: a lost host). Starting
// the VM fences a first, as journaled steps of the start: tgt drops a's ACL and closes its
// connection, Ceph blocklists a's client instance (by nonce: both hosts share 127.0.0.1) and its
// cephx user goes; the old QEMU's writes no longer land. Its ROOT file is still open there, and
// QEMU's image lock refuses b a second writer: the start fails and nothing runs twice. Once that
// QEMU is gone (the host powered off), the VM starts on b with its disks reachable; a's agent
// coming back has its stale domain destroyed, not restarted, and a is Up again.
test(
  'a lost host is fenced (tgt ACL and connection, Ceph blocklist) before its VM starts on another host',
  { timeout: 900_000 },
  async (t) => {
    const root = await mkdtemp('/var/tmp/strata-fence-');
    await chmod(root, 0o755);
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    const hosts: JoinedKvmHost[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    const sfx = Math.random().toString(36).slice(2, 7);
    process.env['STRATA_AGENT_RECONNECT_GRACE_MS'] = String(GRACE_MS);
    try {
      const port = 21_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log,
        track: (c) => children.push(c),
        cephPool: `strata-fence-${sfx}`,
      });
      const { rest } = env;
      const ceph = env.backends.ceph;
      if (!ceph || !env.cloud.pools.rbd) return t.skip(`Ceph is not available: ${env.backends.cephSkipped}`);
      const a = await addKvmHost(env, { name: `fence-a-${sfx}`, memoryBytes: GiB });
      hosts.push(a);
      const b = await addKvmHost(env, { name: `fence-b-${sfx}`, memoryBytes: GiB });
      hosts.push(b);
      const host = async (id: string) => rest.get<HostView>(`/v1/hosts/${id}`);
      const vmView = async () => rest.get<{ state: string; hostId: string }>(`/v1/vms/${vmId}`);

      // An admin cannot fence a host that is Up: only a lost one.
      await assert.rejects(
        rest.post(`/v1/hosts/${b.id}/fence`),
        (e: unknown) => (e as { code?: string }).code === 'HOST_FENCE_REFUSED',
      );

      const { resource: vm } = await rest.run<{ id: string }>('/v1/vms/deploy', {
        name: `fenced <'vm'> "${sfx}" $x; &`,
        templateId: env.cloud.templateId,
        poolId: env.cloud.pools.qcow2,
        memoryBytes: 128 * MiB,
        hostId: a.id,
        start: false,
      });
      vmId = vm.id;
      const disk = async (name: string, poolId: string) => {
        const v = await rest.run<VolumeView>('/v1/volumes', { name, poolId, sizeBytes: 64 * MiB });
        await rest.run(`/v1/volumes/${v.resource.id}/attach`, { vmId: vm.id });
        return v.resource.id;
      };
      const lun = await disk(`lun <of> "${sfx}"`, env.cloud.pools.tgt);
      const image = `vol-${await disk(`rbd 'of' ${sfx}`, env.cloud.pools.rbd)}`;
      await rest.run(`/v1/vms/${vm.id}/start`);
      assert.equal((await vmView()).hostId, a.id);
      assert.deepEqual(await domains(a.host.uri), [vm.id], 'it runs on a');

      // Before: a holds the LUN's ACL and a session; its QEMU watches the image and writes to it.
      const before = await tgtTargetOf(lun);
      assert.deepEqual([before?.acls, before?.sessions], [[a.host.initiatorName], [a.host.initiatorName]]);
      const watchers = await rbdWatchers(ceph, image);
      assert.equal(watchers.length, 1, "a's QEMU is the image's one watcher");
      const rbdAlias = await diskAlias(a.host.uri, vm.id, image);
      const lunAlias = await diskAlias(a.host.uri, vm.id, lun);
      log(`a writes before: ${await qemuWrite(a.host.uri, vm.id, rbdAlias, 0x11)}`);
      log(`a writes before: ${await qemuWrite(a.host.uri, vm.id, lunAlias, 0x11)}`);
      assert.ok(await rbdHolds(ceph, image, 0x11), "a's QEMU writes the image");
      assert.ok(await lunHolds(env.backends.tgtDir, lun, 0x11), "a's QEMU writes the LUN");

      // a is lost: its agent is killed, its QEMU goes on running.
      a.killAgent();
      const lostAt = Date.now();
      await waitUntil('host a to be Disconnected', 60_000, async () =>
        (await host(a.id)).state === 'Disconnected' ? true : undefined,
      );
      assert.deepEqual(await domains(a.host.uri), [vm.id], "a's QEMU still runs");

      // Start: the VM's row still says Running on a. The job fences a first, then tries b.
      const asked = await rest.post<Accepted<unknown>>(`/v1/vms/${vm.id}/start`, { hostId: b.id });
      const failed = await rest.waitJob(asked.job).then(
        () => null,
        (e: Error) => e.message,
      );
      const steps = await rest.get<Array<{ name: string; phase: string; output: unknown }>>(
        `/v1/jobs/${asked.job.id}/steps`,
      );
      const ran = steps.filter((s) => s.phase === 'run' || s.phase === 'done').map((s) => s.name);
      log(`start 1: ${failed}; steps ${JSON.stringify(steps)}`);
      const order = [
        'decide-fence',
        'wait-lost',
        'mark-fencing',
        'fence-storage',
        'mark-fenced',
        'mark-starting',
      ];
      assert.deepEqual(
        order.map((n) => ran.indexOf(n) >= 0),
        order.map(() => true),
        `every fence step ran: ${ran.join(', ')}`,
      );
      assert.deepEqual(
        order.map((n) => ran.indexOf(n)),
        [...order.map((n) => ran.indexOf(n))].sort((x, y) => x - y),
        'the fence ran before placement',
      );
      const waited = steps.find((s) => s.name === 'wait-lost')?.output as { waitedMs?: number } | undefined;
      assert.ok(
        (waited?.waitedMs ?? 0) > 0,
        `the fence waited out the reconnect grace: ${JSON.stringify(waited)}`,
      );
      log(`the fence came ${Date.now() - lostAt} ms after a's agent died (grace ${GRACE_MS} ms)`);
      assert.equal((await host(a.id)).state, 'Fenced');

      // (ii) tgt: no ACL for a's initiator and no session from it; Ceph: a's client blocklisted.
      const after = await tgtTargetOf(lun);
      assert.ok(
        after && !after.acls.includes(a.host.initiatorName),
        `no ACL for a: ${JSON.stringify(after)}`,
      );
      assert.ok(!after.sessions.includes(a.host.initiatorName), 'no session from a');
      const listed = await blocklisted(ceph);
      for (const w of watchers)
        assert.ok(listed.includes(w), `a's client ${w} is blocklisted: ${listed.join(' ')}`);
      assert.ok(!(await rbdWatchers(ceph, image)).some((w) => watchers.includes(w)), 'its watch is gone');
      log(
        `a's QEMU writing to the image after the fence: ${await qemuWrite(a.host.uri, vm.id, rbdAlias, 0x22)}`,
      );
      const qemuLog = async () =>
        (await a.host.exec('tail', ['-n', '4', `/var/log/libvirt/qemu/${vm.id}.log`])).stdout;
      log(`a's QEMU log: ${await qemuLog()}`);
      const kept = await rbdRead(ceph, image, 0x11);
      assert.match(kept, /^read 4096\/4096/m, `the lost QEMU's write to the image did not land: ${kept}`);
      assert.match(await qemuLog(), /write failed|request failed/, 'and QEMU says the write failed');
      log(
        `a's QEMU writing to the LUN after the fence: ${await qemuWrite(a.host.uri, vm.id, lunAlias, 0x22)}`,
      );
      assert.ok(
        await lunHolds(env.backends.tgtDir, lun, 0x11),
        "the lost QEMU's write to the LUN did not land",
      );

      // The ROOT file (shared pool: no per-host access) is still open in a's QEMU, whose image
      // lock refuses a second writer: the start failed, the VM is Stopped, nothing runs on b.
      assert.match(failed ?? '', /lock/i, 'QEMU refused b the ROOT file a still holds');
      assert.equal((await vmView()).state, 'Stopped');
      assert.deepEqual(await domains(b.host.uri), [], 'nothing runs on b');

      // The lost host powers off (its QEMU dies); now the VM starts on b, its disks reachable.
      const pid = (await a.host.exec('cat', [`/run/libvirt/qemu/${vm.id}.pid`])).stdout.trim();
      process.kill(Number(pid), 'SIGKILL');
      await waitUntil("a's QEMU to die", 30_000, async () =>
        (await domains(a.host.uri)).includes(vm.id) ? undefined : true,
      );
      const second = await rest.run(`/v1/vms/${vm.id}/start`, { hostId: b.id });
      const secondSteps = await rest.get<Array<{ name: string; output: unknown }>>(
        `/v1/jobs/${second.job.id}/steps`,
      );
      log(`start 2: ${JSON.stringify(secondSteps)}`);
      const onB = await vmView();
      assert.deepEqual([onB.state, onB.hostId], ['Running', b.id], 'it runs on b');
      assert.deepEqual(await domains(b.host.uri), [vm.id]);
      const bTarget = await tgtTargetOf(lun);
      assert.deepEqual([bTarget?.acls, bTarget?.sessions], [[b.host.initiatorName], [b.host.initiatorName]]);
      const bWatchers = await rbdWatchers(ceph, image);
      assert.equal(bWatchers.length, 1, "b's QEMU watches the image");
      assert.ok(!listed.includes(bWatchers[0] ?? ''), "b's client is not blocklisted");
      log(`b writes: ${await qemuWrite(b.host.uri, vm.id, await diskAlias(b.host.uri, vm.id, image), 0x33)}`);
      log(`b writes: ${await qemuWrite(b.host.uri, vm.id, await diskAlias(b.host.uri, vm.id, lun), 0x33)}`);
      assert.ok(await rbdHolds(ceph, image, 0x33), "b's QEMU writes the image");
      assert.ok(await lunHolds(env.backends.tgtDir, lun, 0x33), "b's QEMU writes the LUN");

      // a's agent comes back: its stale domain is destroyed (not restarted) before it is Up.
      a.startAgent();
      await waitUntil('host a to be readmitted Up', 120_000, async () =>
        (await host(a.id)).state === 'Up' ? true : undefined,
      );
      assert.deepEqual(await domains(a.host.uri, true), [], "a's stale definition of the VM is gone");
      const still = await vmView();
      assert.deepEqual([still.state, still.hostId], ['Running', b.id], 'the VM still runs on b, only there');
      assert.deepEqual(await domains(b.host.uri), [vm.id]);
      const events = await rest
        .get<{ items: Array<{ type: string; description: string }> }>('/v1/events', { limit: 200 })
        .catch(() => ({ items: [] }));
      log(`events: ${events.items.map((e) => `${e.type}: ${e.description}`).join(' | ')}`);
      await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
    } catch (e) {
      for (const h of hosts) log(`--- agent log of ${h.name} ---\n${await h.agentLog()}`);
      const tail = (await readFile(join(root, 'server/server.log'), 'utf8').catch(() => '')).slice(-6000);
      log(`--- server.log ---\n${tail}`);
      throw e;
    } finally {
      t.diagnostic(lines.join('\n'));
      delete process.env['STRATA_AGENT_RECONNECT_GRACE_MS'];
      await discardVm(env?.rest, vmId);
      for (const h of hosts) await h.stop().catch(() => undefined);
      for (const c of children.reverse()) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 2_000));
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  },
);
