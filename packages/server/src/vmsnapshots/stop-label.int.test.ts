import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ApiClient, type ApiAnswer } from '../api/test-client.js';
import { cloudstack, type CsRun } from '../cloudstack/cs-client.js';
import { prepareStoryHost, waitForGuestAgent, type StoryHost } from '../cloudstack/story-host.js';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';
import type { Job } from '../jobs/index.js';

// A stopped VM's snapshot is labelled by what its last stop left on its disks, against a real
// server, host agent, libvirt domain (the tiny guest with qemu-ga) and qcow2 files: a VM that
// never ran and one the guest shut down cleanly give `filesystem`, a forced stop (destroy) gives
// `crash`, and a revert that leaves the VM stopped leaves its disks at the snapshot's label.

const run = promisify(execFile);
const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let host: StoryHost | undefined;
let rest: ApiClient;
let poolId = '';
const domains: string[] = [];

function ok(r: CsRun): Record<string, unknown> {
  assert.equal(r.code, 0, `cloudstack failed: ${r.stdout} ${r.stderr}`);
  assert.ok(r.json, `no JSON: ${r.stdout}`);
  return r.json;
}

async function succeeded(job: Job): Promise<Job> {
  const ended = await h.server.engine.wait(job.id, 300_000);
  assert.equal(ended.state, 'Succeeded', `${ended.type}: ${JSON.stringify(ended.error)}`);
  return ended;
}

const accepted = (a: ApiAnswer): Job => {
  assert.equal(a.status, 202, JSON.stringify(a.body));
  return a.body.job as Job;
};

/** Takes a disk-only snapshot of the stopped VM and answers its id and recorded consistency. */
async function snapshot(vmId: string, name: string): Promise<{ id: string; consistency: string }> {
  const a = await rest.request('POST', '/v1/vm-snapshots', { body: { vmId, name } });
  await succeeded(accepted(a));
  const id = String(a.body.resource.id);
  const row = (
    await h.server.db.query('SELECT consistency, freeze_ms FROM vm_snapshots WHERE id = $1', [id])
  )[0]!;
  assert.equal(row['freeze_ms'], 0, 'a stopped VM is never held');
  return { id, consistency: String(row['consistency']) };
}

const atRest = async (vmId: string) =>
  (await h.server.db.query('SELECT stop_consistency FROM vms WHERE id = $1', [vmId]))[0]?.[
    'stop_consistency'
  ];

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

void test("a stopped VM's snapshot is filesystem after a clean shutdown, crash after a forced stop", async () => {
  const s = h.server.services;
  const deployed = await s.operations.deployVm(h.user.actor, {
    name: `label "vm" <${suffix}>`,
    templateId: host!.templateId,
    poolId,
    start: false,
  });
  await succeeded(deployed.job);
  const vmId = deployed.resource.id;
  domains.push(vmId);

  assert.equal(await atRest(vmId), null, 'a VM that never ran has no stop yet');
  const fresh = await snapshot(vmId, 'never ran');
  assert.equal(fresh.consistency, 'filesystem', 'its disks are as they were made');

  // A clean shutdown: qemu-ga runs the guest's shutdown (sync, then power off).
  await succeeded((await s.operations.startVm(h.user.actor, vmId)).job);
  assert.equal(
    await atRest(vmId),
    'crash',
    'while it runs, its disks at rest are no better than a power cut',
  );
  await waitForGuestAgent(vmId, 180_000);
  await succeeded((await s.operations.stopVm(h.user.actor, vmId, false)).job);
  assert.equal(await atRest(vmId), 'filesystem');
  const clean = await snapshot(vmId, 'after a clean shutdown');
  assert.equal(clean.consistency, 'filesystem');

  // A forced stop: the domain destroyed, whatever the guest was doing.
  await succeeded((await s.operations.startVm(h.user.actor, vmId)).job);
  await succeeded((await s.operations.stopVm(h.user.actor, vmId, true)).job);
  assert.equal(await atRest(vmId), 'crash');
  const forced = await snapshot(vmId, 'after a forced stop');
  assert.equal(forced.consistency, 'crash', 'a forced stop leaves only what a power cut would');

  // A revert that leaves the VM stopped puts its disks at the reverted snapshot's point in time.
  await succeeded(accepted(await rest.request('POST', `/v1/vm-snapshots/${clean.id}/revert`)));
  assert.equal(await atRest(vmId), 'filesystem');
  assert.equal((await snapshot(vmId, 'after reverting to a clean one')).consistency, 'filesystem');
  await succeeded(accepted(await rest.request('POST', `/v1/vm-snapshots/${forced.id}/revert`)));
  assert.equal(await atRest(vmId), 'crash');
  assert.equal((await snapshot(vmId, 'after reverting to a forced one')).consistency, 'crash');
});
