import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import type { ServerExtension } from '../server.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import { cloudstack, type CsRun } from './cs-client.js';
import { startHarness, type Harness } from './test-harness.js';
import { joinStorageNode } from '../orchestration/testing/storage-node.js';

// Volumes through CloudStack's asynchronous commands, with the real cs client polling the real
// job engine, on a qcow2 pool in a temporary directory (no guest needed for these). The pool's
// driver runs on a storage-only agent, as the server runs every qcow2 driver (ADR 0003).

const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let poolId = '';
let offeringId = '';
let volumeId = '';
let node: { stop(): Promise<void> } | undefined;

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}

/** A job type of this test only, that fails with a registry code, to see CloudStack's failure shape. */
const failing: ServerExtension = {
  name: 'cs-test-failing-job',
  start(ctx) {
    ctx.engine?.register({
      type: 'test.cs-fails',
      steps: [
        {
          name: 'fail',
          run: () => Promise.reject(new StrataError('CONFLICT', { reason: 'the test says no' })),
        },
      ],
    });
    return Promise.resolve();
  },
};

before(async () => {
  h = await startHarness([failing]);
  const zone = await h.server.services.zones.create(SYSTEM_ACTOR, { name: `zone-${suffix}` });
  const cluster = await h.server.services.clusters.create(SYSTEM_ACTOR, {
    zoneId: zone.id,
    name: `cluster-${suffix}`,
  });
  node = await joinStorageNode(h.agents.hub(), {
    clusterId: cluster.id,
    dir: h.dataDir,
    poolDirs: [join(h.dataDir, 'pool')],
  });
  const pool = ok(
    await cloudstack(h.admin, 'createStoragePool', {
      name: `files-${suffix}`,
      url: `file://${join(h.dataDir, 'pool')}`,
      zoneid: zone.id,
      provider: 'qcow2',
      scope: 'zone',
      capacitybytes: String(20 * GiB),
      capacityiops: '1000',
    }),
  );
  poolId = String((pool['storagepool'] as Record<string, unknown>)['id']);
  const off = ok(
    await cloudstack(h.admin, 'createDiskOffering', {
      name: `silver-${suffix}`,
      disksize: '1',
      miniops: '100',
      maxiops: '400',
    }),
  );
  offeringId = String((off['diskoffering'] as Record<string, unknown>)['id']);
});

after(async () => {
  await node?.stop();
  await h?.close();
});

void test('createVolume runs as a job: cs polls it and prints the Ready volume', async () => {
  const name = `data <&> "${suffix}" $HOME;x`;
  const out = ok(
    await cloudstack(h.user, 'createVolume', { name, diskofferingid: offeringId, storageid: poolId }),
  );
  const vol = out['volume'] as Record<string, unknown>;
  assert.equal(vol['name'], name);
  assert.equal(vol['state'], 'Ready');
  assert.equal(vol['type'], 'DATADISK');
  assert.equal(vol['size'], GiB);
  assert.equal(vol['miniops'], 100);
  assert.equal(vol['maxiops'], 400);
  assert.equal(vol['storageid'], poolId);
  volumeId = String(vol['id']);
  const list = ok(await cloudstack(h.user, 'listVolumes', { id: volumeId }));
  assert.equal(list['count'], 1);
});

void test('async answers carry jobid and id; queryAsyncJobResult and listAsyncJobs report the job', async () => {
  const started = ok(await cloudstack(h.user, 'resizeVolume', { id: volumeId, size: '2' }, { noWait: true }));
  const jobid = String(started['jobid']);
  assert.equal(started['id'], volumeId);
  let result: Record<string, unknown> = {};
  for (let i = 0; i < 60; i++) {
    result = ok(await cloudstack(h.user, 'queryAsyncJobResult', { jobid }));
    if (result['jobstatus'] !== 0) break;
  }
  assert.equal(result['jobstatus'], 1, JSON.stringify(result));
  assert.equal(result['jobresultcode'], 0);
  assert.equal(result['jobresulttype'], 'object');
  assert.equal(result['jobinstancetype'], 'Volume');
  assert.equal(result['jobinstanceid'], volumeId);
  assert.equal((result['jobresult'] as { volume: { size: number } }).volume.size, 2 * GiB);
  const jobs = ok(await cloudstack(h.user, 'listAsyncJobs'));
  const ids = (jobs['asyncjobs'] as Array<{ jobid: string }>).map((j) => j.jobid);
  assert.ok(ids.includes(jobid), JSON.stringify(jobs));
  // Another account does not see the job (answered as if it did not exist).
  const foreign = await cloudstack(h.admin, 'queryAsyncJobResult', { jobid: 'job-that-does-not-exist' });
  assert.equal(foreign.code, 1);
});

void test('resizeVolume with IOPS changes QoS live through the service (read back by its job)', async () => {
  const out = ok(await cloudstack(h.user, 'resizeVolume', { id: volumeId, miniops: '150', maxiops: '300' }));
  const vol = out['volume'] as Record<string, unknown>;
  assert.deepEqual([vol['miniops'], vol['maxiops']], [150, 300]);
});

test('a refused operation answers at once with its code: shrinking is 431', async () => {
  // Shrinking is refused by the service before any job starts.
  const shrink = await cloudstack(h.user, 'resizeVolume', { id: volumeId, size: '1' });
  assert.equal(shrink.code, 1);
  const e = (shrink.json?.['resizevolumeresponse'] ?? {}) as { errorcode?: number; stratacode?: string };
  assert.equal(e.stratacode, 'STORAGE_SHRINK_REFUSED');
  assert.equal(e.errorcode, 431);
});

void test('a failed job answers jobstatus 2, its error code as jobresultcode and under jobresult', async () => {
  const job = await h.server.engine.submit(
    'test.cs-fails',
    {},
    { accountId: h.user.actor.accountId, resourceType: 'volume', resourceId: volumeId },
  );
  await h.server.engine.wait(job.id, 30_000);
  const r = ok(await cloudstack(h.user, 'queryAsyncJobResult', { jobid: job.id }));
  assert.equal(r['jobstatus'], 2);
  assert.equal(r['jobresultcode'], 530);
  assert.deepEqual(r['jobresult'], {
    errorcode: 530,
    cserrorcode: 4300,
    errortext: 'the test says no',
    stratacode: 'CONFLICT',
  });
  assert.equal(r['jobinstancetype'], 'Volume');
});

void test('attachVolume and detachVolume on a stopped VM; VM commands refuse what its state forbids', async () => {
  const vm = await h.server.services.vms.create(h.user.actor, {
    name: `stopped-${suffix}`,
    cpus: 1,
    memoryBytes: 128 * 1024 ** 2,
  });
  const listed = ok(await cloudstack(h.user, 'listVirtualMachines', { id: vm.id }));
  const row = (listed['virtualmachine'] as Array<Record<string, unknown>>)[0] ?? {};
  assert.deepEqual([row['state'], row['memory'], row['cpunumber']], ['Stopped', 128, 1]);
  const attached = (ok(await cloudstack(h.user, 'attachVolume', { id: volumeId, virtualmachineid: vm.id }))[
    'volume'
  ] ?? {}) as Record<string, unknown>;
  assert.equal(attached['virtualmachineid'], vm.id);
  assert.equal(typeof attached['deviceid'], 'number');
  const onVm = ok(await cloudstack(h.user, 'listVolumes', { virtualmachineid: vm.id }));
  assert.equal(onVm['count'], 1);
  const detached = (ok(await cloudstack(h.user, 'detachVolume', { id: volumeId }))['volume'] ?? {}) as Record<
    string,
    unknown
  >;
  assert.equal(detached['virtualmachineid'], undefined);
  // Stopping a stopped VM is an illegal transition: CloudStack's 431 with 4350.
  const stop = await cloudstack(h.user, 'stopVirtualMachine', { id: vm.id });
  const e = (stop.json?.['stopvirtualmachineresponse'] ?? {}) as {
    errorcode?: number;
    cserrorcode?: number;
    stratacode?: string;
  };
  assert.deepEqual(
    [stop.code, e.errorcode, e.cserrorcode, e.stratacode],
    [1, 431, 4350, 'ILLEGAL_TRANSITION'],
  );
  const destroyed = (ok(await cloudstack(h.user, 'destroyVirtualMachine', { id: vm.id }))['virtualmachine'] ??
    {}) as Record<string, unknown>;
  assert.equal(destroyed['state'], 'Destroyed');
});

void test('deleteVolume is synchronous, as in CloudStack: success once the volume is gone', async () => {
  const out = ok(await cloudstack(h.user, 'deleteVolume', { id: volumeId }));
  assert.deepEqual(out, { success: true });
  const vol = await h.server.services.volumes.get(SYSTEM_ACTOR, volumeId);
  assert.equal(vol.state, 'Destroyed');
});

void test("createVolume beyond the pool's IOPS is refused with CloudStack's capacity code", async () => {
  const run = await cloudstack(h.user, 'createVolume', {
    name: `big-${suffix}`,
    size: '1',
    storageid: poolId,
    miniops: '5000',
    maxiops: '6000',
  });
  assert.equal(run.code, 1, run.stdout);
  const e = (run.json?.['createvolumeresponse'] ?? {}) as {
    errorcode?: number;
    stratacode?: string;
    errortext?: string;
  };
  assert.ok(e.stratacode, run.stdout);
  assert.equal(e.errorcode, 533, run.stdout);
  assert.match(e.errortext ?? '', /IOPS/);
});

void test('createSnapshot, listSnapshots, revertSnapshot, createVolume from the snapshot, deleteSnapshot', async () => {
  const made = ok(
    await cloudstack(h.user, 'createVolume', {
      name: `src-${suffix}`,
      diskofferingid: offeringId,
      storageid: poolId,
    }),
  );
  const source = made['volume'] as Record<string, unknown>;
  const taken = ok(
    await cloudstack(h.user, 'createSnapshot', { volumeid: String(source['id']), name: `s <${suffix}>` }),
  );
  const snap = taken['snapshot'] as Record<string, unknown>;
  assert.equal(snap['volumeid'], source['id']);
  assert.equal(snap['revertable'], true, 'the storage took it: Ready');
  const listed = ok(await cloudstack(h.user, 'listSnapshots', { volumeid: String(source['id']) }));
  assert.equal(listed['count'], 1);
  // A detached volume reverts in place through the storage.
  ok(await cloudstack(h.user, 'revertSnapshot', { id: String(snap['id']) }));
  const fromSnap = ok(
    await cloudstack(h.user, 'createVolume', { name: `from-${suffix}`, snapshotid: String(snap['id']) }),
  );
  const clone = fromSnap['volume'] as Record<string, unknown>;
  assert.equal(clone['state'], 'Ready');
  assert.equal(clone['storageid'], poolId, "made in the snapshot's pool");
  assert.equal(clone['size'], source['size']);
  ok(await cloudstack(h.user, 'deleteSnapshot', { id: String(snap['id']) }));
  const after = ok(await cloudstack(h.user, 'listSnapshots', { volumeid: String(source['id']) }));
  const left = ((after['snapshot'] as Array<Record<string, unknown>> | undefined) ?? []).filter(
    (x) => x['state'] !== 'Destroyed',
  );
  assert.equal(left.length, 0, 'the snapshot is gone');
});
