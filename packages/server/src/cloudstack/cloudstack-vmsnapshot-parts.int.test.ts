import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cloudstack, type CsRun } from './cs-client.js';
import { prepareStoryHost, type StoryHost } from './story-host.js';
import { startHarness, type Harness } from './test-harness.js';

// createSnapshotFromVMSnapshot and createVolume from its answer, through the real cs client, on
// a stopped VM's qcow2 disk (the VM snapshot is taken on the pool's files by a real host agent of
// the pool's zone: the server never touches them).

const run = promisify(execFile);
const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let host: StoryHost | undefined;
let poolId = '';

function ok(r: CsRun): Record<string, unknown> {
  assert.equal(r.code, 0, `cloudstack failed: ${r.stdout} ${r.stderr}`);
  assert.ok(r.json, `no JSON: ${r.stdout}`);
  return r.json;
}

/** Fills the first 64 KiB of a qcow2 image with one byte, or checks it holds it (qemu-io -P). */
async function pattern(op: 'write' | 'read', image: string, byte: number): Promise<boolean> {
  // qemu-io exits non-zero when the pattern differs: its stdout says so.
  const stdout = await run('qemu-io', ['-f', 'qcow2', '-c', `${op} -P ${byte} 0 64k`, image]).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  if (op === 'write') assert.match(stdout, /wrote 65536\/65536 bytes/);
  return /read 65536\/65536 bytes/.test(stdout) && !/Pattern verification failed/.test(stdout);
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
});

after(async () => {
  await host?.stop();
  await h?.close();
});

void test('createSnapshotFromVMSnapshot answers one disk of a VM snapshot; createVolume from it holds that disk', async () => {
  const vol = ok(
    await cloudstack(h.user, 'createVolume', { name: `disk "${suffix}"`, size: '1', storageid: poolId }),
  );
  const volumeId = String((vol['volume'] as Record<string, unknown>)['id']);
  const vm = await h.server.services.vms.create(h.user.actor, {
    name: `vm <${suffix}>`,
    cpus: 1,
    memoryBytes: 128 * 1024 ** 2,
  });
  ok(await cloudstack(h.user, 'attachVolume', { id: volumeId, virtualmachineid: vm.id }));
  const file = (await h.server.services.volumes.get(h.user.actor, volumeId)).backendRef!;
  await pattern('write', file, 0x5a);

  const snap = ok(await cloudstack(h.user, 'createVMSnapshot', { virtualmachineid: vm.id, name: 'before' }));
  const vmSnapshotId = String((snap['vmsnapshot'] as Record<string, unknown>)['id']);
  // The disk moves on after the VM snapshot: its new active layer takes other bytes.
  const active = (await h.server.services.volumes.get(h.user.actor, volumeId)).backendRef!;
  assert.notEqual(active, file, 'the VM snapshot put a new layer over the disk');
  await pattern('write', active, 0xa5);

  const from = ok(
    await cloudstack(h.user, 'createSnapshotFromVMSnapshot', {
      volumeid: volumeId,
      vmsnapshotid: vmSnapshotId,
    }),
  );
  const part = from['snapshot'] as Record<string, unknown>;
  assert.equal(part['volumeid'], volumeId);
  assert.equal(part['state'], 'BackedUp');
  const listed = ok(await cloudstack(h.user, 'listSnapshots', { id: String(part['id']) }));
  assert.equal(listed['count'], 1);

  const made = ok(
    await cloudstack(h.user, 'createVolume', { name: `from part ${suffix}`, snapshotid: String(part['id']) }),
  );
  const madeVol = made['volume'] as Record<string, unknown>;
  assert.equal(madeVol['state'], 'Ready');
  const madeFile = (await h.server.services.volumes.get(h.user.actor, String(madeVol['id']))).backendRef!;
  assert.equal(
    await pattern('read', madeFile, 0x5a),
    true,
    'the new volume holds the disk as at the VM snapshot',
  );
  assert.equal(await pattern('read', madeFile, 0xa5), false, 'and not what was written after it');

  // A volume the VM snapshot does not cover, and an unknown VM snapshot: CloudStack's 431.
  const other = ok(
    await cloudstack(h.user, 'createVolume', { name: `other ${suffix}`, size: '1', storageid: poolId }),
  );
  const otherId = String((other['volume'] as Record<string, unknown>)['id']);
  for (const params of [
    { volumeid: otherId, vmsnapshotid: vmSnapshotId },
    { volumeid: volumeId, vmsnapshotid: 'vmsnap-unknown' },
  ]) {
    const refused = await cloudstack(h.user, 'createSnapshotFromVMSnapshot', params);
    const e = (refused.json?.['createsnapshotfromvmsnapshotresponse'] ?? {}) as {
      errorcode?: number;
      stratacode?: string;
    };
    assert.deepEqual([refused.code, e.errorcode, e.stratacode], [1, 431, 'NOT_FOUND']);
  }
});
