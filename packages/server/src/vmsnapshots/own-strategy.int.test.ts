import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ApiClient, type ApiAnswer } from '../api/test-client.js';
import { cloudstack, type CsRun } from '../cloudstack/cs-client.js';
import { prepareStoryHost, type StoryHost } from '../cloudstack/story-host.js';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';
import { snapshotStrategies } from './strategy/index.js';
import { pinnedStrategy } from './testing/pinned-strategy.js';

// Adding a strategy is one module registered with the built-ins: the server as it ships (REST,
// job engine, PGlite) with a real host agent doing the pool's files, and the test's own strategy
// (testing/pinned-strategy.ts) registered. Selection picks it for the VM it claims and the
// built-in for another; the winner's name is recorded; the create, revert and delete jobs call
// its take, revert and delete (and the built-in's for the other VM), with the disk's data right.

const run = promisify(execFile);
const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
const claims = new Set<string>();
const calls: string[] = [];
let h: Harness & { dataDir: string };
let host: StoryHost | undefined;
let rest: ApiClient;
let poolId = '';

function ok(r: CsRun): Record<string, unknown> {
  assert.equal(r.code, 0, `cloudstack failed: ${r.stdout} ${r.stderr}`);
  assert.ok(r.json, `no JSON: ${r.stdout}`);
  return r.json;
}

/** Writes, or checks, one byte over the first 64 KiB of a stopped disk's active file. */
async function pattern(op: 'write' | 'read', image: string, byte: number): Promise<boolean> {
  const stdout = await run('qemu-io', ['-f', 'qcow2', '-c', `${op} -P ${byte} 0 64k`, image]).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  if (op === 'write') assert.match(stdout, /wrote 65536\/65536 bytes/);
  return /read 65536\/65536 bytes/.test(stdout) && !/Pattern verification failed/.test(stdout);
}

async function job(answer: ApiAnswer): Promise<Record<string, unknown>> {
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const id = String(answer.body.job.id);
  for (let i = 0; i < 60; i++) {
    const r = await rest.request('GET', `/v1/jobs/${id}`, { query: { wait: '5' } });
    if (r.body.state === 'Succeeded' || r.body.state === 'Failed') return r.body as Record<string, unknown>;
  }
  throw new Error(`job ${id} did not finish`);
}

async function succeeded(answer: ApiAnswer): Promise<void> {
  const done = await job(answer);
  assert.equal(done['state'], 'Succeeded', JSON.stringify(done));
}

/** A stopped VM with one qcow2 data disk (made and attached through CloudStack). */
async function stoppedVm(name: string): Promise<{ vmId: string; volumeId: string }> {
  const vol = ok(
    await cloudstack(h.user, 'createVolume', { name: `${name} disk`, size: '1', storageid: poolId }),
  );
  const volumeId = String((vol['volume'] as Record<string, unknown>)['id']);
  const vm = await h.server.services.vms.create(h.user.actor, {
    name,
    cpus: 1,
    memoryBytes: 128 * 1024 ** 2,
  });
  ok(await cloudstack(h.user, 'attachVolume', { id: volumeId, virtualmachineid: vm.id }));
  return { vmId: vm.id, volumeId };
}

const activeOf = async (volumeId: string) =>
  (await h.server.services.volumes.get(h.user.actor, volumeId)).backendRef!;
const snapshotRow = async (id: string) =>
  (await h.server.services.db.query('SELECT state, strategy FROM vm_snapshots WHERE id = $1', [id]))[0]!;
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

before(async () => {
  h = await startHarness([], undefined, { strategies: snapshotStrategies(pinnedStrategy(claims, calls)) });
  rest = new ApiClient({ url: h.server.url }, { apiKey: h.user.key, secretKey: h.user.secret });
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

void test('a registered strategy is chosen for its VM and takes, reverts and deletes through the jobs', async () => {
  const { vmId, volumeId } = await stoppedVm(`pinned "vm" <${suffix}>`);
  claims.add(vmId);
  const explained = await rest.request('GET', `/v1/vms/${vmId}/snapshot-strategies`);
  assert.equal(explained.body.chosen, 'pinned', JSON.stringify(explained.body));
  const reasons = Object.fromEntries(
    (explained.body.explanation as Array<{ strategy: string; priority: string }>).map((e) => [
      e.strategy,
      e.priority,
    ]),
  );
  assert.deepEqual(reasons, { hypervisor: 'DEFAULT', pinned: 'HIGHEST', storage: 'CANT_HANDLE' });

  const original = await activeOf(volumeId);
  await pattern('write', original, 0x5a);
  const taken = await rest.request('POST', '/v1/vm-snapshots', { body: { vmId, name: 'pinned one' } });
  const snapId = String(taken.body.resource.id);
  await succeeded(taken);
  assert.deepEqual(calls, [`take ${snapId}`]);
  assert.deepEqual(await snapshotRow(snapId), { state: 'Ready', strategy: 'pinned' });
  const pinnedOverlay = join(h.dataDir, 'pool', `${volumeId}.pinned-${snapId}.qcow2`);
  assert.equal(await activeOf(volumeId), pinnedOverlay, "the strategy's overlay is the disk's active layer");
  const part = await h.server.services.db.query(
    'SELECT backend_ref, taken_by FROM volume_snapshots WHERE vm_snapshot_id = $1',
    [snapId],
  );
  assert.deepEqual(part, [{ backend_ref: original, taken_by: 'hypervisor' }]);

  await pattern('write', pinnedOverlay, 0xa5);
  await succeeded(await rest.request('POST', `/v1/vm-snapshots/${snapId}/revert`));
  assert.deepEqual(calls, [`take ${snapId}`, `revert ${snapId}`]);
  const reverted = await activeOf(volumeId);
  assert.match(
    reverted,
    /\.pinned-revert-[^/]+\.qcow2$/,
    "the strategy's revert overlay is the active layer",
  );
  assert.equal(await pattern('read', reverted, 0x5a), true, 'the disk reads as at the snapshot');
  assert.equal(await exists(pinnedOverlay), false, 'the layer of discarded writes was dropped by the job');

  await succeeded(await rest.request('DELETE', `/v1/vm-snapshots/${snapId}`));
  assert.deepEqual(calls, [`take ${snapId}`, `revert ${snapId}`, `delete ${snapId}`]);
  assert.equal((await snapshotRow(snapId))['state'], 'Removed');
  assert.equal(await exists(original), true, 'the pinned file stays while the active layer stands on it');
  assert.equal(await pattern('read', reverted, 0x5a), true);
});

void test('a VM the strategy does not claim gets a built-in, and the registered strategy is never called', async () => {
  const before = calls.length;
  const { vmId, volumeId } = await stoppedVm(`plain ${suffix}`);
  const original = await activeOf(volumeId);
  const taken = await rest.request('POST', '/v1/vm-snapshots', { body: { vmId, name: 'plain one' } });
  const snapId = String(taken.body.resource.id);
  await succeeded(taken);
  assert.deepEqual(await snapshotRow(snapId), { state: 'Ready', strategy: 'hypervisor' });
  assert.equal(await activeOf(volumeId), join(h.dataDir, 'pool', `${volumeId}.${snapId}.qcow2`));
  await succeeded(await rest.request('DELETE', `/v1/vm-snapshots/${snapId}`));
  assert.equal(await activeOf(volumeId), original, "the built-in's delete merged the overlay back");
  assert.equal(calls.length, before, 'the registered strategy did none of it');
});
