import assert from 'node:assert/strict';
import { setWriterInterval } from '@strata/testing';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { invariantProblems, type Orphans } from './crash-checks.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import * as make from './crash-orphan-makers.js';
import { readAdminCredentials } from './processes.js';
import type { Page } from './rest.js';
import { buildDemoVm, waitForGuestAgent, type SnapshotView, type VolumeView } from './story.js';

const run = promisify(execFile);
const cliBin = new URL('../../cli/dist/bin.js', import.meta.url).pathname;
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const key = (o: { kind: string; ref: string }) => `${o.kind} ${o.ref}`;

// The orphan collector on the real backends: one orphan of every kind made by hand next to a VM
// with a snapshot on qcow2, tgt and Ceph; `strata orphans list` reports exactly those,
// `strata orphans collect` removes them, and everything the database references is untouched.
test(
  'orphan collector: reports and removes every kind of orphan, leaves what is referenced',
  { timeout: 1_800_000 },
  async (t) => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    let cx: CrashEnv | undefined;
    const vms: string[] = [];
    let failed = true;
    try {
      cx = await crashEnvironment(log);
      const env = cx;
      const rest = env.env.rest;
      const { vm } = await buildDemoVm(rest, env.backends, env.cloud, log, env.vmHost);
      vms.push(vm.id);
      await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
      // no writer history is read here: a slow writer keeps the guest from holding a CPU
      await setWriterInterval(vm.id, 1, await env.uriOf(vm.id));
      const snap = (
        await rest.run<SnapshotView>('/v1/vm-snapshots', { vmId: vm.id, name: 'kept', quiesce: 'hypervisor' })
      ).resource;
      const spare = (
        await rest.run<VolumeView>('/v1/volumes', {
          name: 'spare "tgt" <volume>',
          poolId: env.cloud.pools.tgt,
          sizeBytes: 16 * 1024 * 1024,
        })
      ).resource;
      const volumes = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id })).items;
      const root = volumes.find((v) => v.type === 'ROOT')!;
      const onTgt = volumes.find((v) => v.poolId === env.cloud.pools.tgt)!;
      const onRbd = volumes.find((v) => v.poolId === env.cloud.pools.rbd);
      assert.ok(onRbd, 'Ceph runs here: the test needs an RBD disk');
      assert.deepEqual((await rest.get<Orphans>('/v1/orphans')).orphans, [], 'no orphan before any is made');
      const keptParts = await make.rbdVmSnapshotParts(env, vm.id);
      assert.equal(keptParts.length, 1, "the kept snapshot's RBD part is one group snapshot");

      const accountId = (await rest.get<{ accountId: string }>(`/v1/vms/${vm.id}`)).accountId;
      await env.stopServer();
      const stuck = await make.stuckSnapshot(env.dataDir, vm.id, accountId);
      await env.restartServer();
      const stray = await make.strayQcow2Layer(env, root.id);
      const stateFiles = await make.strayStateFiles(env, vm.id);
      const rbdSnap = await make.rbdSnapshot(env, onRbd.id);
      const rbdImage = await make.rbdImage(env);
      const rbdPart = await make.rbdVmSnapshotPart(env, vm.id);
      const tgtSnap = await make.tgtSnapshot(env, onTgt.id);
      const tgtVolume = await make.tgtVolume(env, onTgt.id);
      const spareView = await rest.get<VolumeView>(`/v1/volumes/${spare.id}`);
      const spareIqn = (spareView.backendRef ?? '').split('/')[0]!;
      const initiator = env.cloud.host.iscsiInitiator ?? 'iqn.2026-11.io.strata:test-host';
      await make.tgtGrant(env, spare.id, spareIqn, env.cloud.host.id, initiator);
      assert.ok((await make.tgtAcls(spareIqn)).includes(initiator), 'the hand-made ACL is bound in tgtd');

      const expected = [
        `vm-snapshot-state ${stuck}`,
        `file ${stray}`,
        ...stateFiles.map((f) => `file ${f}`),
        `backend-snapshot ${rbdSnap}`,
        `backend-volume ${rbdImage}`,
        `backend-vm-snapshot-part ${rbdPart}`,
        `backend-snapshot ${tgtSnap}`,
        `backend-volume ${tgtVolume}`,
        `access-grant ${spare.id}@${env.cloud.host.id}`,
      ].sort();

      const creds = await readAdminCredentials(env.dataDir);
      const cli = async (...args: string[]) =>
        (
          await run(process.execPath, [cliBin, '-o', 'json', ...args], {
            env: {
              ...process.env,
              STRATA_ENDPOINT: env.url,
              STRATA_API_KEY: creds.apiKey,
              STRATA_SECRET_KEY: creds.secretKey,
            },
            timeout: 600_000,
          })
        ).stdout;
      const listed = JSON.parse(await cli('orphans', 'list')) as Orphans;
      t.diagnostic(`strata orphans list: ${listed.orphans.map(key).join(', ')}`);
      assert.deepEqual(
        listed.orphans.map(key).sort(),
        expected,
        'every orphan made, and nothing else, is reported',
      );
      assert.deepEqual(listed.warnings, []);

      const collected = JSON.parse(await cli('orphans', 'collect')) as {
        state: string;
        result: { removed: Array<{ kind: string; ref: string }>; failed: unknown[] };
      };
      assert.equal(collected.state, 'Succeeded');
      assert.deepEqual(collected.result.failed, []);
      assert.deepEqual(collected.result.removed.map(key).sort(), expected);

      assert.deepEqual((await rest.get<Orphans>('/v1/orphans')).orphans, [], 'nothing is left to collect');
      for (const f of [stray, ...stateFiles]) assert.equal(await exists(f), false, `${f} is gone`);
      assert.equal(await make.rbdSnapshotExists(env, onRbd.id, rbdSnap), false, 'the rbd snapshot is gone');
      assert.ok(!(await make.rbdImages(env)).includes(`vol-${rbdImage}`), 'the rbd image is gone');
      assert.deepEqual(
        await make.rbdVmSnapshotParts(env, vm.id),
        keptParts,
        "the row-less group snapshot is gone, the kept snapshot's is not",
      );
      assert.equal(
        await exists(join(env.tgtDir, 'snapshots', `${tgtSnap}.raw`)),
        false,
        'the tgt snapshot is gone',
      );
      assert.equal(
        await exists(join(env.tgtDir, 'volumes', `${tgtVolume}.raw`)),
        false,
        'the tgt volume is gone',
      );
      assert.ok(!(await make.tgtAcls(spareIqn)).includes(initiator), 'the ACL is unbound in tgtd');
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${stuck}`)).state, 'Error');

      // What the database references is untouched: volumes, the snapshot's parts, the running VM.
      assert.equal((await rest.get<SnapshotView>(`/v1/vm-snapshots/${snap.id}`)).state, 'Ready');
      assert.equal(
        await exists(join(env.tgtDir, 'volumes', `${spare.id}.raw`)),
        true,
        'the spare volume stays',
      );
      assert.deepEqual(await invariantProblems(env, vm.id), []);
      failed = false;
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- log ---\n${lines.join('\n')}\n--- server ---\n${await cx?.tail()}\n(files kept in ${cx?.root})`,
        {
          cause: e,
        },
      );
    } finally {
      await cx?.close(vms, failed);
    }
  },
);
