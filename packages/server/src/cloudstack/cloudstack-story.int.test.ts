import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../services/index.js';
import { Operations } from '../services/operations.js';
import { cloudstack, type CsRun, type CsTarget } from './cs-client.js';
import { startHarness, type Harness } from './test-harness.js';

/**
 * The whole story an operator runs with CloudStack's tools, through the real `cloudstack` client:
 * pool, offering, VM from a template, two volumes on two backends, attach, createVMSnapshot with
 * quiescevm=true, listVMSnapshot, revertToVMSnapshot, deleteVMSnapshot, detach, delete.
 *
 * It needs parts that are not all in this tree yet; the skip names exactly which are missing and
 * is computed, so the test runs by itself once they exist.
 */
const missing: string[] = [];
if (!('deployVm' in Operations.prototype)) {
  missing.push('the service layer has no deploy-from-template operation (VM record + ROOT volume from the template + start): Operations.deployVm');
}
if (!process.env['STRATA_STORY_HOST_READY']) {
  missing.push(
    'the CloudStack test harness does not yet start a host agent with libvirtd, the tiny guest template and a tgt pool ' +
      '(set STRATA_STORY_HOST_READY=1 with STRATA_STORY_TEMPLATE, STRATA_STORY_FILE_POOL_URL, STRATA_STORY_TGT_POOL_URL once a harness provides them)',
  );
}

let h: Harness;
const suffix = Math.random().toString(36).slice(2, 8);

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}
const field = (o: Record<string, unknown>, k: string) => o[k] as Record<string, unknown>;
const env = (k: string) => process.env[k] ?? '';

before(async () => {
  if (missing.length === 0) h = await startHarness();
});
after(async () => {
  await h?.close();
});

void test('the CloudStack story, end to end with the cs client', { skip: missing.length ? `pending: ${missing.join('; ')}` : false }, async () => {
  const admin: CsTarget = h.admin;
  const zoneid = (await h.server.services.zones.create(SYSTEM_ACTOR, { name: `story-${suffix}` })).id;
  assert.equal(ok(await cloudstack(admin, 'listZones', { id: zoneid }))['count'], 1);

  // Two backends: qcow2 files and managed iSCSI on tgt.
  const filePool = field(ok(await cloudstack(admin, 'createStoragePool', {
    name: `files-${suffix}`, url: env('STRATA_STORY_FILE_POOL_URL'), zoneid, provider: 'qcow2', scope: 'zone', capacitybytes: String(8 * 1024 ** 3), capacityiops: '10000',
  })), 'storagepool');
  const tgtPool = field(ok(await cloudstack(admin, 'createStoragePool', {
    name: `iscsi-${suffix}`, url: env('STRATA_STORY_TGT_POOL_URL'), zoneid, provider: 'tgt', scope: 'zone', managed: 'true', capacitybytes: String(8 * 1024 ** 3), capacityiops: '10000',
  })), 'storagepool');
  assert.equal(tgtPool['managed'], true);
  const offering = field(ok(await cloudstack(admin, 'createDiskOffering', { name: `story-${suffix}`, disksize: '1', miniops: '100', maxiops: '500' })), 'diskoffering');

  const vm = field(ok(await cloudstack(admin, 'deployVirtualMachine', {
    templateid: env('STRATA_STORY_TEMPLATE'), zoneid, name: `story-vm-${suffix}`, cpunumber: '1', memory: '128', storageid: String(filePool['id']),
  })), 'virtualmachine');
  assert.equal(vm['state'], 'Running');

  const volumes: Record<string, unknown>[] = [];
  for (const pool of [filePool, tgtPool]) {
    const v = field(ok(await cloudstack(admin, 'createVolume', { name: `story-${String(pool['provider'])}-${suffix}`, diskofferingid: String(offering['id']), storageid: String(pool['id']) })), 'volume');
    assert.equal(v['state'], 'Ready');
    const attached = field(ok(await cloudstack(admin, 'attachVolume', { id: String(v['id']), virtualmachineid: String(vm['id']) })), 'volume');
    assert.equal(attached['virtualmachineid'], vm['id']);
    volumes.push(attached);
  }

  const snap = field(ok(await cloudstack(admin, 'createVMSnapshot', { virtualmachineid: String(vm['id']), name: `cut-${suffix}`, quiescevm: 'true' })), 'vmsnapshot');
  assert.equal(snap['state'], 'Ready');
  assert.equal(snap['type'], 'Disk');
  assert.equal(snap['current'], true);
  assert.notEqual(snap['consistency'], 'crash', 'quiescevm=true must reach filesystem or application consistency');

  const listed = ok(await cloudstack(admin, 'listVMSnapshot', { virtualmachineid: String(vm['id']) }));
  assert.equal(listed['count'], 1);
  assert.equal((listed['vmSnapshot'] as Array<Record<string, unknown>>)[0]?.['id'], snap['id']);

  const reverted = ok(await cloudstack(admin, 'revertToVMSnapshot', { vmsnapshotid: String(snap['id']) }));
  assert.ok(reverted['vmsnapshot'] ?? reverted['virtualmachine'], JSON.stringify(reverted));

  assert.deepEqual(ok(await cloudstack(admin, 'deleteVMSnapshot', { vmsnapshotid: String(snap['id']) })), { success: true });
  assert.deepEqual(ok(await cloudstack(admin, 'listVMSnapshot', { virtualmachineid: String(vm['id']), state: 'Ready' })), {});

  for (const v of volumes) {
    const detached = field(ok(await cloudstack(admin, 'detachVolume', { id: String(v['id']) })), 'volume');
    assert.equal(detached['virtualmachineid'], undefined);
    assert.deepEqual(ok(await cloudstack(admin, 'deleteVolume', { id: String(v['id']) })), { success: true });
  }
  ok(await cloudstack(admin, 'stopVirtualMachine', { id: String(vm['id']), forced: 'true' }));
  const destroyed = field(ok(await cloudstack(admin, 'destroyVirtualMachine', { id: String(vm['id']) })), 'virtualmachine');
  assert.equal(destroyed['state'], 'Destroyed');
});
