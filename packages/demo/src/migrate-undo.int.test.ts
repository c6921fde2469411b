import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '@strata/testing';
import { bringUp, type Environment } from './demo.js';
import { discardVm } from './discard-vm.js';
import { tgtTargetOf } from './fence-checks.js';
import { addKvmHost, type HostView, type JoinedKvmHost } from './kvm-hosts.js';
import { waitUntil } from './processes.js';
import type { Accepted, JobView } from './rest.js';
import type { VolumeView } from './story.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const domains = async (uri: string) =>
  (await run('virsh', ['-q', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);

type AuthEntry = { entity: string; caps?: { osd?: string } };

// Issue 20: the undo of a migration whose guest has moved. A VM with a qcow2 ROOT, a tgt LUN and
// an RBD image migrates from a to b; the server's hold hook stops the job before `confirm` (the
// guest already runs on b), a's agent is killed, and the hook then fails `confirm`. The undo
// must find the guest on b without asking a, record the VM there, and revoke a's grants: tgt
// lists no ACL of a's initiator on the LUN, and no cephx user but b's opens the image.
test(
  'a migration undone after its guest moved records it on the destination and revokes the source',
  {
    timeout: 900_000,
  },
  async (t) => {
    const root = await mkdtemp('/var/tmp/strata-migundo-');
    await chmod(root, 0o755);
    const holdFile = join(root, 'fault-hold');
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
    const hosts: JoinedKvmHost[] = [];
    let env: Environment | undefined;
    let vmId: string | undefined;
    const sfx = Math.random().toString(36).slice(2, 7);
    process.env['STRATA_FAULT_HOLD_FILE'] = holdFile;
    try {
      const port = 21_000 + Math.floor(Math.random() * 1000);
      env = await bringUp({
        root,
        port,
        agentPort: port + 1000,
        detached: false,
        log,
        track: (c) => children.push(c),
        // one pool for every run of this file (its volumes go with the test's VM)
        cephPool: 'strata-migrate-undo',
      });
      const { rest } = env;
      const ceph = env.backends.ceph;
      if (!ceph || !env.cloud.pools.rbd) return t.skip(`Ceph is not available: ${env.backends.cephSkipped}`);
      const a = await addKvmHost(env, { name: `undo-a-${sfx}`, memoryBytes: GiB });
      hosts.push(a);
      const b = await addKvmHost(env, { name: `undo-b-${sfx}`, memoryBytes: GiB });
      hosts.push(b);
      const host = async (id: string) => rest.get<HostView>(`/v1/hosts/${id}`);
      const vmView = async () => rest.get<{ state: string; hostId: string }>(`/v1/vms/${vmId}`);

      const { resource: vm } = await rest.run<{ id: string }>('/v1/vms/deploy', {
        name: `undone <'move'> "${sfx}" $x; &`,
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
      const admin = ['--conf', ceph.confPath, '--keyring', ceph.adminKeyringPath];
      const imageId = (
        JSON.parse(
          (await run('rbd', [...admin, 'info', `${ceph.pool}/${image}`, '--format', 'json'])).stdout,
        ) as {
          id: string;
        }
      ).id;
      /** The cephx users whose OSD caps open the image's data. */
      const openers = async () =>
        (
          JSON.parse((await run('ceph', [...admin, 'auth', 'ls', '--format', 'json'])).stdout) as {
            auth_dump: AuthEntry[];
          }
        ).auth_dump
          .filter((e) => (e.caps?.osd ?? '').includes(`rbd_data.${imageId}`))
          .map((e) => e.entity);
      assert.equal((await openers()).length, 1, "a's user alone opens the image");
      const aUser = (await openers())[0];

      // Held before confirm: the guest has moved to b; both hosts hold grants.
      await writeFile(holdFile, 'vm.migrate:confirm:before\n');
      const asked = await rest.post<Accepted<unknown>>(`/v1/vms/${vm.id}/migrate`, { hostId: b.id });
      await waitUntil('the migration to be held before confirm', 300_000, () =>
        Promise.resolve(existsSync(`${holdFile}.held`) ? true : undefined),
      );
      assert.deepEqual(await domains(b.host.uri), [vm.id], 'the guest runs on b');
      assert.deepEqual(await domains(a.host.uri), [], 'and a has no domain of it left');
      const both = await tgtTargetOf(lun);
      assert.deepEqual([...(both?.acls ?? [])].sort(), [a.host.initiatorName, b.host.initiatorName].sort());
      assert.equal((await openers()).length, 2, 'both users open the image while the job is held');

      // a's agent goes, then confirm fails: the undo must not need a.
      a.killAgent();
      await waitUntil('host a to be Disconnected', 120_000, async () =>
        (await host(a.id)).state === 'Disconnected' ? true : undefined,
      );
      await writeFile(holdFile, 'fail vm.migrate:confirm:before\n');
      const ended = await waitUntil('the job to end', 300_000, async () => {
        const j = await rest.get<JobView>(`/v1/jobs/${asked.job.id}`);
        return j.state === 'Succeeded' || j.state === 'Failed' ? j : undefined;
      });
      await rm(holdFile, { force: true });
      const steps = await rest.get<Array<{ name: string; phase: string; status?: string }>>(
        `/v1/jobs/${asked.job.id}/steps`,
      );
      log(`job ${JSON.stringify(ended)}; steps ${JSON.stringify(steps)}`);
      assert.equal(ended.state, 'Failed');
      assert.equal(ended.error?.code, 'INTERNAL', 'the injected failure, not JOB_COMPENSATION_FAILED');
      assert.match(ended.error?.message ?? '', /STRATA_FAULT_HOLD_FILE/);
      const undone = steps.filter((s) => s.phase === 'compensate').map((s) => s.name);
      for (const name of ['grant-destination', 'plan'])
        assert.ok(undone.includes(name), `${name} was undone: ${undone.join(', ')}`);

      // The VM is recorded on b and runs there only; a's grants are gone from tgt and Ceph.
      const v = await vmView();
      assert.deepEqual([v.state, v.hostId], ['Running', b.id], 'recorded on the destination');
      assert.deepEqual(await domains(b.host.uri), [vm.id]);
      assert.deepEqual(await domains(a.host.uri), []);
      const after = await tgtTargetOf(lun);
      assert.deepEqual(after?.acls, [b.host.initiatorName], "tgt: only b's initiator may log in");
      assert.ok(!after.sessions.includes(a.host.initiatorName), 'no session from a');
      const left = await openers();
      assert.equal(left.length, 1, `one cephx user opens the image: ${left.join(' ')}`);
      assert.notEqual(left[0], aUser, "and it is not a's");

      // a comes back; it stays out of the VM's way, and the VM stops from b.
      a.startAgent();
      await waitUntil('host a to be Up', 120_000, async () =>
        (await host(a.id)).state === 'Up' ? true : undefined,
      );
      assert.deepEqual([(await vmView()).hostId, await domains(a.host.uri)], [b.id, []]);
      await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
    } catch (e) {
      for (const h of hosts) log(`--- agent log of ${h.name} ---\n${await h.agentLog()}`);
      const tail = (await readFile(join(root, 'server/server.log'), 'utf8').catch(() => '')).slice(-6000);
      log(`--- server.log ---\n${tail}`);
      throw e;
    } finally {
      t.diagnostic(lines.join('\n'));
      delete process.env['STRATA_FAULT_HOLD_FILE'];
      await rm(holdFile, { force: true });
      await discardVm(env?.rest, vmId);
      for (const h of hosts) await h.stop().catch(() => undefined);
      for (const c of children) c.kill('SIGKILL');
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
  },
);
