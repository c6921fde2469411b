import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import { ApiClient } from '../api/test-client.js';
import type { Job } from '../jobs/index.js';
import { sweepDestroyedVms } from '../orchestration/expunge-sweep.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import { cloudstack, type CsRun } from './cs-client.js';
import { prepareStoryHost, type StoryHost } from './story-host.js';
import { startHarness, type Harness } from './test-harness.js';

// The VM lifecycle as operators know it, against a real server, host agent, libvirt domain and
// qcow2 files: destroy and recover, destroy with expunge of a VM with a VM snapshot and a data
// volume, the retention sweep, job cancel (queued and running), and the in-use refusals.

const run = promisify(execFile);
const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let host: StoryHost | undefined;
let poolId = '';
let rest: ApiClient;
const domains: string[] = [];

function ok(r: CsRun): Record<string, unknown> {
  assert.equal(r.code, 0, `cloudstack failed: ${r.stdout} ${r.stderr}`);
  assert.ok(r.json, `no JSON: ${r.stdout}`);
  return r.json;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const defined = (domain: string) =>
  run('virsh', ['-c', 'qemu:///system', 'domstate', domain]).then(
    (r) => r.stdout.trim(),
    () => null,
  );

async function done(job: Job): Promise<Job> {
  const ended = await h.server.engine.wait(job.id, 300_000);
  assert.ok(ended.state === 'Succeeded' || ended.state === 'Failed', `job ${job.id} is ${ended.state}`);
  return ended;
}

async function succeeded(job: Job): Promise<Job> {
  const ended = await done(job);
  assert.equal(ended.state, 'Succeeded', `${ended.type}: ${JSON.stringify(ended.error)}`);
  return ended;
}

/** A VM cloned from the template on the qcow2 pool; started once (so its host holds its definition) unless told. */
async function deploy(name: string, start = true) {
  const s = h.server.services;
  const accepted = await s.operations.deployVm(h.user.actor, {
    name,
    templateId: host!.templateId,
    poolId,
    start: false,
  });
  await succeeded(accepted.job);
  const vm = accepted.resource;
  domains.push(vm.id);
  if (start) {
    await succeeded((await s.operations.startVm(h.user.actor, vm.id)).job);
    await succeeded((await s.operations.stopVm(h.user.actor, vm.id, true)).job);
  }
  return vm;
}

before(async () => {
  h = await startHarness();
  host = await prepareStoryHost(h, suffix);
  const pool = ok(
    await cloudstack(h.admin, 'createStoragePool', {
      name: `files-${suffix}`,
      url: `file://${join(h.dataDir, 'pool')}`,
      zoneid: host.zoneId,
      provider: 'qcow2',
      scope: 'zone',
      capacitybytes: String(20 * GiB),
    }),
  );
  poolId = String((pool['storagepool'] as Record<string, unknown>)['id']);
  rest = new ApiClient({ app: h.server.app }, { apiKey: h.user.key, secretKey: h.user.secret });
});

after(async () => {
  for (const d of domains) {
    await run('virsh', ['-c', 'qemu:///system', 'destroy', d]).catch(() => undefined);
    await run('virsh', ['-c', 'qemu:///system', 'undefine', d]).catch(() => undefined);
  }
  await host?.stop();
  await h?.close();
});

void test('destroyVirtualMachine keeps a VM recoverable; recoverVirtualMachine brings it back Stopped; the sweep expunges it after its delay', async () => {
  const s = h.server.services;
  const vm = await deploy(`keep "me" <${suffix}>`, false);
  const destroyed = ok(await cloudstack(h.user, 'destroyVirtualMachine', { id: vm.id }));
  assert.equal((destroyed['virtualmachine'] as Record<string, unknown>)['state'], 'Destroyed');
  const root = (await s.volumes.list(h.user.actor, { vmId: vm.id })).items[0]!;
  assert.equal(root.state, 'Ready', 'a destroyed VM keeps its ROOT volume until the expunge');
  assert.ok((await s.vms.get(h.user.actor, vm.id)).destroyedAt);

  const recovered = ok(await cloudstack(h.user, 'recoverVirtualMachine', { id: vm.id }));
  assert.equal((recovered['virtualmachine'] as Record<string, unknown>)['state'], 'Stopped');
  assert.equal((await s.vms.get(h.user.actor, vm.id)).destroyedAt, null);
  const again = await cloudstack(h.user, 'recoverVirtualMachine', { id: vm.id });
  assert.equal(again.code, 1, 'a Stopped VM is not recovered again');

  // Destroyed again over REST: the sweep leaves it while its delay runs, then expunges it.
  const del = await rest.request('DELETE', `/v1/vms/${vm.id}`);
  assert.equal(del.status, 202);
  await succeeded(del.body.job as Job);
  assert.equal(await sweepDestroyedVms(h.server.db, h.server.engine, 3600), 0, 'within its delay');
  assert.equal(await sweepDestroyedVms(h.server.db, h.server.engine, 0), 1);
  const [expunge] = (await h.server.engine.list({ type: 'vm.expunge', resourceId: vm.id })).items;
  await succeeded(expunge!);
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunged');
  assert.equal((await s.volumes.get(h.user.actor, root.id)).state, 'Destroyed');
  assert.equal(await exists(root.backendRef!), false, 'the ROOT file is gone');
  // cs prints nothing for CloudStack's empty list ({}).
  const listed = await cloudstack(h.user, 'listVirtualMachines', { id: vm.id });
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(
    listed.json?.['count'] ?? 0,
    0,
    'listVirtualMachines leaves an Expunged VM out, as CloudStack',
  );
  const asked = ok(await cloudstack(h.user, 'listVirtualMachines', { id: vm.id, state: 'Expunged' }));
  assert.equal(asked['count'], 1, 'unless that state is asked for');
  const late = await rest.request('POST', `/v1/vms/${vm.id}/recover`);
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'ILLEGAL_TRANSITION');
});

void test('destroyVirtualMachine expunge=true removes the definition, the ROOT volume and the VM snapshot, and keeps the data volume', async () => {
  const s = h.server.services;
  const vm = await deploy(`gone ${suffix}`);
  const data = await s.operations.createVolume(h.user.actor, {
    name: `data ${suffix}`,
    poolId,
    sizeBytes: GiB,
  });
  await succeeded(data.job);
  await succeeded((await s.operations.attachVolume(h.user.actor, data.resource.id, vm.id)).job);
  const snap = await s.operations.createVmSnapshot(h.user.actor, { vmId: vm.id, name: 'before' });
  await succeeded(snap.job);
  const root = (await s.volumes.list(h.user.actor, { vmId: vm.id, type: 'ROOT' })).items[0]!;
  const parts = await h.server.db.query(
    'SELECT backend_ref FROM volume_snapshots WHERE vm_snapshot_id = $1',
    [snap.resource.id],
  );
  const rootFiles = [
    root.backendRef!,
    ...parts.map((p) => String(p['backend_ref'])).filter((f) => f.startsWith('/') && f.includes(root.id)),
  ];
  assert.ok(rootFiles.length >= 2, `the ROOT's layer and its frozen part: ${rootFiles.join(', ')}`);
  for (const f of rootFiles) assert.equal(await exists(f), true, `${f} is there before`);
  assert.equal(await defined(vm.id), 'shut off', 'its host holds its definition');

  const out = ok(await cloudstack(h.user, 'destroyVirtualMachine', { id: vm.id, expunge: 'true' }));
  assert.ok(out['virtualmachine'], JSON.stringify(out));
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunged');
  assert.equal(await defined(vm.id), null, 'the domain is undefined on its host');
  assert.equal((await s.volumes.get(h.user.actor, root.id)).state, 'Destroyed');
  for (const f of rootFiles) assert.equal(await exists(f), false, `${f} is gone`);
  assert.equal((await s.vmSnapshots.get(h.user.actor, snap.resource.id)).state, 'Removed');
  const left = await h.server.db.query(
    `SELECT id FROM volume_snapshots WHERE vm_snapshot_id = $1 AND state <> 'Deleted'`,
    [snap.resource.id],
  );
  assert.deepEqual(left, [], 'no part of the VM snapshot is left');
  const kept = await s.volumes.get(h.user.actor, data.resource.id);
  assert.deepEqual([kept.state, kept.vmId], ['Ready', null], 'the data volume is detached and kept');
  assert.equal(await exists(kept.backendRef!), true);
});

void test('jobs are cancelled by their owner: a queued one at once, a running one compensated at its next step', async () => {
  const s = h.server.services;
  const vm = await deploy(`cancel ${suffix}`, false);
  const data = await s.operations.createVolume(h.user.actor, {
    name: `cancel data ${suffix}`,
    poolId,
    sizeBytes: GiB,
  });
  await succeeded(data.job);
  const start = await rest.request('POST', `/v1/vms/${vm.id}/start`, { body: {} });
  assert.equal(start.status, 202);
  const startJob = start.body.job as Job;
  // queued behind the start on the VM's lock
  const attach = await s.operations.attachVolume(h.user.actor, data.resource.id, vm.id);
  const queued = await rest.request('POST', `/v1/jobs/${attach.job.id}/cancel`);
  assert.equal(queued.status, 200);
  assert.deepEqual([queued.body.state, queued.body.error.code], ['Failed', 'JOB_CANCELLED']);

  // the running start: cancelled once its define-and-start step is under way
  for (;;) {
    const steps = await h.server.engine.steps(startJob.id);
    if (steps.some((r) => r.name === 'define-and-start')) break;
    assert.equal((await h.server.engine.get(startJob.id)).state, 'Running');
    await new Promise((r) => setTimeout(r, 50));
  }
  const marked = await rest.request('POST', `/v1/jobs/${startJob.id}/cancel`);
  assert.equal(marked.status, 200);
  assert.ok(marked.body.cancelRequestedAt, JSON.stringify(marked.body));
  const ended = await done(startJob);
  assert.deepEqual([ended.state, ended.error?.code], ['Failed', 'JOB_CANCELLED']);
  const undone = (await h.server.engine.steps(startJob.id)).filter((r) => r.phase === 'compensate');
  assert.deepEqual(
    undone.map((r) => [r.name, r.status]),
    [
      ['define-and-start', 'done'],
      ['mark-starting', 'done'],
    ],
  );
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Stopped');
  assert.notEqual(await defined(vm.id), 'running', 'the guest it started was stopped again');
  assert.equal(
    (await s.volumes.get(h.user.actor, data.resource.id)).vmId,
    null,
    'the cancelled attach never ran',
  );

  const finished = await rest.request('POST', `/v1/jobs/${startJob.id}/cancel`);
  assert.deepEqual([finished.status, finished.body.error.code], [409, 'ILLEGAL_TRANSITION']);
  const other = await s.accounts.create(SYSTEM_ACTOR, { name: `other-${suffix}`, role: 'user' });
  const otherJob = await s.jobs.submit(
    { ...h.user.actor, accountId: other.id },
    'vm.expunge',
    { vmId: 'none' },
    {},
  );
  const notYours = await rest.request('POST', `/v1/jobs/${otherJob.id}/cancel`);
  assert.deepEqual([notYours.status, notYours.body.error.code], [404, 'NOT_FOUND'], "another account's job");
});

void test('a running VM is stopped by its destroy; with expunge=true its domain goes too', async () => {
  const s = h.server.services;
  const vm = await deploy(`running ${suffix}`, false);
  await succeeded((await s.operations.startVm(h.user.actor, vm.id)).job);
  assert.equal(await defined(vm.id), 'running');
  const gone = await rest.request('DELETE', `/v1/vms/${vm.id}`, { query: { expunge: 'true' } });
  assert.equal(gone.status, 202, JSON.stringify(gone.body));
  const job = await succeeded(gone.body.job as Job);
  const steps = (await h.server.engine.steps(job.id)).map((r) => r.name);
  assert.ok(steps.includes('stop-on-host') && steps.includes('mark-expunged'), steps.join(', '));
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunged');
  assert.equal(await defined(vm.id), null, 'stopped and undefined on its host');
});

void test('a VM in Error whose domain still runs is stopped by its destroy', async () => {
  const s = h.server.services;
  const vm = await deploy(`erred ${suffix}`, false);
  await succeeded((await s.operations.startVm(h.user.actor, vm.id)).job);
  assert.equal(await defined(vm.id), 'running');
  // What the server records when it loses track of a running VM: Running -> Error.
  await s.vms.apply(SYSTEM_ACTOR, vm.id, 'Fail');
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Error');
  await succeeded((await s.vmLifecycle.destroy(h.user.actor, vm.id)).job);
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Destroyed');
  assert.equal(await defined(vm.id), 'shut off', 'a destroyed VM does not run on');
});

void test('an attach whose hot-plug runs again after the disk was plugged (a crash inside it) resumes, not undone', async () => {
  const s = h.server.services;
  const vm = await deploy(`plugged ${suffix}`, false);
  await succeeded((await s.operations.startVm(h.user.actor, vm.id)).job);
  const made = await s.operations.createVolume(h.user.actor, {
    name: `plug ${suffix}`,
    poolId,
    sizeBytes: GiB,
  });
  await succeeded(made.job);
  const path = (await s.volumes.get(h.user.actor, made.resource.id)).backendRef!;
  const hold = join(h.dataDir, 'hold-hot-plug');
  process.env['STRATA_FAULT_HOLD_FILE'] = hold;
  await writeFile(hold, 'volume.attach:hot-plug:before');
  let job: Job;
  try {
    job = (await s.operations.attachVolume(h.user.actor, made.resource.id, vm.id)).job;
    for (let i = 0; i < 1200 && !(await exists(`${hold}.held`)); i++)
      await new Promise((r) => setTimeout(r, 250));
    assert.ok(await exists(`${hold}.held`), 'the attach reached its hot-plug');
    const device = (await s.volumes.get(h.user.actor, made.resource.id)).deviceName!;
    // What the run cut short had done: the disk plugged at its reserved target.
    await run('virsh', [
      '-c',
      'qemu:///system',
      'attach-disk',
      vm.id,
      path,
      device,
      '--driver',
      'qemu',
      '--subdriver',
      'qcow2',
      '--live',
    ]);
  } finally {
    await rm(hold, { force: true });
    delete process.env['STRATA_FAULT_HOLD_FILE'];
  }
  await succeeded(job);
  const attached = await s.volumes.get(h.user.actor, made.resource.id);
  assert.equal(attached.vmId, vm.id);
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'domblklist', vm.id]);
  const line = stdout.split('\n').find((l) => l.trim().split(/\s+/)[0] === attached.deviceName);
  assert.equal(line?.trim().split(/\s+/)[1], path, `the disk stays plugged: ${stdout}`);
  await succeeded((await s.vmLifecycle.destroy(h.user.actor, vm.id, { expunge: true })).job);
});

void test('deleting what is still in use is refused with a code whose details name the holders', async () => {
  const s = h.server.services;
  const vm = await deploy(`holder ${suffix}`, false);
  const root = (await s.volumes.list(h.user.actor, { vmId: vm.id, type: 'ROOT' })).items[0]!;
  await assert.rejects(s.templates.remove(SYSTEM_ACTOR, host!.templateId), (e: unknown) => {
    assert.ok(isStrataError(e, 'TEMPLATE_IN_USE'), String(e));
    assert.match(String(e.params['volumes']), new RegExp(root.id));
    return true;
  });
  await assert.rejects(s.pools.remove(SYSTEM_ACTOR, poolId), (e: unknown) => {
    assert.ok(isStrataError(e, 'POOL_IN_USE'), String(e));
    assert.match(String(e.params['volumes']), new RegExp(root.id));
    return true;
  });
  const data = await s.operations.createVolume(h.user.actor, {
    name: `snapped ${suffix}`,
    poolId,
    sizeBytes: GiB,
  });
  await succeeded(data.job);
  const snap = await s.operations.createVolumeSnapshot(h.user.actor, data.resource.id, { name: 'keep' });
  await succeeded(snap.job);
  const refused = await cloudstack(h.user, 'deleteVolume', { id: data.resource.id });
  const e = (refused.json?.['deletevolumeresponse'] ?? {}) as {
    errorcode?: number;
    stratacode?: string;
    errortext?: string;
  };
  assert.deepEqual([refused.code, e.errorcode, e.stratacode], [1, 536, 'VOLUME_HAS_DEPENDENT_SNAPSHOTS']);
  assert.match(e.errortext ?? '', new RegExp(snap.resource.id));
  assert.equal((await s.volumes.get(h.user.actor, data.resource.id)).state, 'Ready');
});

void test('a deploy whose start fails keeps its ROOT volume: the VM is Stopped, its disk Ready on its pool', async () => {
  const s = h.server.services;
  // more memory than any host has: the clone succeeds, the start finds no host
  const accepted = await s.operations.deployVm(h.user.actor, {
    name: `no room ${suffix}`,
    templateId: host!.templateId,
    poolId,
    memoryBytes: 4096 * GiB,
    start: true,
  });
  domains.push(accepted.resource.id);
  const ended = await done(accepted.job);
  assert.equal(ended.state, 'Failed');
  assert.equal(ended.error?.code, 'NO_HOST_AVAILABLE', JSON.stringify(ended.error));
  assert.equal((await s.vms.get(h.user.actor, accepted.resource.id)).state, 'Stopped');
  const root = (await s.volumes.list(h.user.actor, { vmId: accepted.resource.id, type: 'ROOT' })).items[0]!;
  assert.equal(root.state, 'Ready');
  assert.equal(await exists(root.backendRef!), true, 'the clone is kept on its pool');
});
