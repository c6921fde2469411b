import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cloudstack, type CsRun } from './cs-client.js';
import { prepareStoryHost, waitForGuestAgent, type StoryHost } from './story-host.js';
import { startHarness, type Harness } from './test-harness.js';

/**
 * The whole story an operator runs with CloudStack's tools, through the real `cloudstack` client
 * against a real server, host agent, libvirt guest, qcow2 files and a tgt iSCSI target: pool,
 * offering, VM from a template, two volumes on two backends, attach to the running VM,
 * createVMSnapshot quiescevm=true, listVMSnapshot, revertToVMSnapshot, deleteVMSnapshot, detach,
 * delete. The VM is deployed from the template with deployVirtualMachine (one job: ROOT volume
 * cloned by the qcow2 pool, then started).
 */
const exec = promisify(execFile);
const suffix = Math.random().toString(36).slice(2, 6);
let h: Harness & { dataDir: string };
let host: StoryHost | null = null;
let vmId = '';

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}
const field = (o: Record<string, unknown>, k: string) => (o[k] ?? {}) as Record<string, unknown>;

before(async () => {
  h = await startHarness();
  host = await prepareStoryHost(h, suffix);
});

after(async () => {
  if (vmId) await exec('virsh', ['-c', 'qemu:///system', 'destroy', vmId]).catch(() => undefined);
  if (vmId) await exec('virsh', ['-c', 'qemu:///system', 'undefine', vmId]).catch(() => undefined);
  await host?.stop();
  await h?.close();
});

void test('the CloudStack story, end to end with the cs client', { timeout: 600_000 }, async () => {
  const admin = h.admin;
  const ststory = host!;
  const story = ststory;
  const zoneid = ststory.zoneId;

  // Two backends, created with CloudStack's createStoragePool: qcow2 files, managed iSCSI on tgt.
  const files = field(
    ok(
      await cloudstack(admin, 'createStoragePool', {
        name: `files-${suffix}`,
        url: story.qcow2Url,
        zoneid,
        provider: 'qcow2',
        scope: 'zone',
        capacitybytes: String(16 * 1024 ** 3),
        capacityiops: '0',
      }),
    ),
    'storagepool',
  );
  const iscsi = field(
    ok(
      await cloudstack(admin, 'createStoragePool', {
        name: `iscsi-${suffix}`,
        url: story.tgtUrl,
        zoneid,
        provider: 'tgt',
        scope: 'zone',
        managed: 'true',
        capacitybytes: String(16 * 1024 ** 3),
        capacityiops: '20000',
      }),
    ),
    'storagepool',
  );
  assert.deepEqual([files['type'], iscsi['type'], iscsi['managed']], ['Filesystem', 'Iscsi', true]);
  const offering = field(
    ok(
      await cloudstack(admin, 'createDiskOffering', {
        name: `story-${suffix}`,
        disksize: '1',
        miniops: '100',
        maxiops: '2000',
      }),
    ),
    'diskoffering',
  );

  // VM from the template with CloudStack's deployVirtualMachine: ROOT volume cloned in the qcow2 pool, started.
  const deployed = field(
    ok(
      await cloudstack(admin, 'deployVirtualMachine', {
        templateid: story.templateId,
        zoneid,
        name: `story vm <${suffix}> "x"`,
        storageid: String(files['id']),
        memory: '128',
      }),
    ),
    'virtualmachine',
  );
  const vm = { id: String(deployed['id']), name: String(deployed['name']) };
  vmId = vm.id;
  assert.equal(deployed['state'], 'Running');
  assert.equal(deployed['templateid'], story.templateId);

  // Two data volumes on two backends, hot-attached to the running guest.
  const volumes: Record<string, unknown>[] = [];
  for (const pool of [files, iscsi]) {
    const v = field(
      ok(
        await cloudstack(admin, 'createVolume', {
          name: `data on ${String(pool['provider'])} ${suffix}`,
          diskofferingid: String(offering['id']),
          storageid: String(pool['id']),
        }),
      ),
      'volume',
    );
    assert.equal(v['state'], 'Ready');
    const attached = field(
      ok(await cloudstack(admin, 'attachVolume', { id: String(v['id']), virtualmachineid: vm.id })),
      'volume',
    );
    assert.equal(attached['virtualmachineid'], vm.id);
    volumes.push(attached);
  }
  const onVm = ok(await cloudstack(admin, 'listVolumes', { virtualmachineid: vm.id }));
  assert.equal(onVm['count'], 3);

  // A quiesced VM snapshot across both backends (and the ROOT disk).
  await waitForGuestAgent(vm.id);
  const snap = field(
    ok(
      await cloudstack(admin, 'createVMSnapshot', {
        virtualmachineid: vm.id,
        name: `cut <${suffix}>`,
        quiescevm: 'true',
      }),
    ),
    'vmsnapshot',
  );
  assert.equal(snap['state'], 'Ready', JSON.stringify(snap));
  assert.equal(snap['type'], 'Disk');
  assert.equal(snap['current'], true);
  assert.equal(snap['consistency'], 'filesystem', 'quiescevm=true freezes the guest filesystems');
  assert.equal(typeof snap['freezems'], 'number');

  const listed = ok(await cloudstack(admin, 'listVMSnapshot', { virtualmachineid: vm.id }));
  assert.equal(listed['count'], 1);
  assert.equal((listed['vmSnapshot'] as Array<Record<string, unknown>>)[0]?.['id'], snap['id']);

  // A disk snapshot is reverted with the VM stopped (a running revert needs a memory snapshot).
  ok(await cloudstack(admin, 'stopVirtualMachine', { id: vm.id, forced: 'true' }));
  const reverted = ok(await cloudstack(admin, 'revertToVMSnapshot', { vmsnapshotid: String(snap['id']) }));
  assert.equal(field(reverted, 'vmsnapshot')['state'], 'Ready', JSON.stringify(reverted));

  assert.deepEqual(ok(await cloudstack(admin, 'deleteVMSnapshot', { vmsnapshotid: String(snap['id']) })), {
    success: true,
  });
  const left = await cloudstack(admin, 'listVMSnapshot', { virtualmachineid: vm.id, state: 'Ready' });
  assert.equal(left.stdout.trim(), '', 'no Ready VM snapshot is left');

  for (const v of volumes) {
    const detached = field(ok(await cloudstack(admin, 'detachVolume', { id: String(v['id']) })), 'volume');
    assert.equal(detached['virtualmachineid'], undefined);
    assert.deepEqual(ok(await cloudstack(admin, 'deleteVolume', { id: String(v['id']) })), { success: true });
  }
  const destroyed = field(
    ok(await cloudstack(admin, 'destroyVirtualMachine', { id: vm.id })),
    'virtualmachine',
  );
  assert.equal(destroyed['state'], 'Destroyed');
});
