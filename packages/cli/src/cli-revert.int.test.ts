import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '@strata/server/services/index';
import { startHarness, type Harness } from '@strata/server/cloudstack/test-harness';
import { prepareStoryHost, type StoryHost } from '@strata/server/cloudstack/story-host';

// `strata vm-snapshots revert --restart` as a user runs it (a real process against a real
// server): the flag reaches the server as ?restart=true and rides in the revert job. A stopped
// VM with a qcow2 disk needs no guest, but its pool's files are worked on by a host agent of the
// pool's zone (the server never touches them): a real agent joins first.

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.js');
const suffix = Math.random().toString(36).slice(2, 6);
let h: Harness & { dataDir: string };
let host: StoryHost | undefined;
let home = '';
let snapshotId = '';

function strata(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    HOME: home,
    STRATA_CONFIG: join(home, 'config.json'),
    STRATA_ENDPOINT: h.server.url,
    STRATA_API_KEY: h.user.key,
    STRATA_SECRET_KEY: h.user.secret,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number')
        return reject(err instanceof Error ? err : new Error('process failed'));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

async function done(job: { id: string }): Promise<void> {
  const j = await h.server.engine.wait(job.id, 120_000);
  assert.equal(j.state, 'Succeeded', JSON.stringify(j.error));
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'strata-cli-revert-'));
  h = await startHarness();
  host = await prepareStoryHost(h, suffix);
  const s = h.server.services;
  const pool = await s.pools.create(SYSTEM_ACTOR, {
    name: `files-${suffix}`,
    zoneId: host.zoneId,
    clusterId: null,
    provider: 'qcow2',
    scope: 'zone',
    managed: false,
    capacityBytes: 10 * 1024 ** 3,
    capacityIops: 0,
    url: `file://${join(h.dataDir, 'pool')}`,
    details: {},
  });
  const actor = h.user.actor;
  const vm = await s.vms.create(actor, { name: `vm <${suffix}>`, cpus: 1, memoryBytes: 128 * 1024 ** 2 });
  const vol = await s.operations.createVolume(actor, { name: 'disk', poolId: pool.id, sizeBytes: 1024 ** 2 });
  await done(vol.job);
  await done((await s.operations.attachVolume(actor, vol.resource.id, vm.id)).job);
  const snap = await s.operations.createVmSnapshot(actor, { vmId: vm.id, name: 'one', quiesce: 'none' });
  await done(snap.job);
  snapshotId = snap.resource.id;
});

after(async () => {
  await host?.stop();
  await h?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

void test('vm-snapshots revert --restart sends restart=true; without it the revert asks for none', async () => {
  for (const [args, restart] of [
    [['--restart'], true],
    [[], false],
  ] as const) {
    const r = await strata(['--no-wait', '-o', 'json', 'vm-snapshots', 'revert', snapshotId, ...args]);
    assert.equal(r.code, 0, r.stderr);
    const job = (JSON.parse(r.stdout) as { job: { id: string; type: string } }).job;
    assert.equal(job.type, 'vm-snapshot.revert');
    const queued = await h.server.engine.get(job.id);
    assert.deepEqual(queued.input, { vmSnapshotId: snapshotId, restart });
    await done(job);
  }
  const help = await strata(['vm-snapshots', 'revert', '--help']);
  assert.match(help.stdout, /--restart/);
});
