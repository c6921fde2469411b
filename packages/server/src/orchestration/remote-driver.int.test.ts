import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { CHANNEL_PATH, MiB, StrataError, type StorageContext, type StoragePool, type Vm } from '@strata/core';
import { TEST_ROOT } from '@strata/testing';
import type { Database } from '../db/index.js';
import type { AgentHub } from '../agents/hub.js';
import { startAgentProcess, stopAgentProcess, type AgentProcess } from '../agents/testing/agent-process.js';
import { startTestHub } from '../agents/testing/test-hub.js';
import { pickHost } from './deps.js';
import { remoteDriverFactories, storageNodeFor } from './remote-drivers.js';

// The remote driver's own test over the agent channel (ADR 0003), with the shipped agent process
// in the storage role and a real qcow2 pool: coded errors cross with their code and retryable
// intact, and the call's deadline (the caller's cancellation) aborts the driver on the node.
const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const root = join(TEST_ROOT, `qcow2-rdrv-${tag}`);
let dir = '';
let db: Database;
let hub: AgentHub;
let proc: AgentProcess | undefined;
let hostId = '';
const ctx: StorageContext = { signal: new AbortController().signal };
const settings = {
  name: `rdrv-${tag}`,
  provider: 'qcow2',
  url: `file://${root}`,
  details: {},
  capacityBytes: 0,
  capacityIops: 1_000,
};
const poolRow: StoragePool = {
  ...settings,
  id: settings.name,
  zoneId: 'z',
  clusterId: null,
  scope: 'cluster',
  managed: true,
  state: 'Up',
  createdAt: new Date().toISOString(),
};
const settled = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => assert.fail('expected a coded error'),
    (e: unknown) => e,
  );

before(async () => {
  await mkdir(root, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'strata-remote-driver-'));
  ({ db, hub } = await startTestHub({ dir, suffix: tag, heartbeatMs: 2_000 }));
  const { token, fingerprint } = await hub.issueRegistrationToken(`cluster-${tag}`);
  const connected = new Promise<string>((resolve) => hub.onConnection((id, up) => up && resolve(id)));
  proc = startAgentProcess('main', {
    STRATA_SERVER_URL: `wss://127.0.0.1:${hub.port}${CHANNEL_PATH}`,
    STRATA_SERVER_FINGERPRINT: fingerprint,
    STRATA_REGISTRATION_TOKEN: token,
    STRATA_AGENT_STATE_DIR: join(dir, 'agent'),
    STRATA_AGENT_ROLES: 'storage',
    STRATA_AGENT_STORAGE_PROVIDERS: 'qcow2',
    STRATA_AGENT_POOL_DIRS: root,
  });
  hostId = await connected;
});

after(async () => {
  if (proc) await stopAgentProcess(proc);
  await hub?.stop();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

test('the storage node announces its role, providers and pool directories; the server finds it by them', async () => {
  const facts = await hub.send(hostId, 'host.facts', {});
  assert.deepEqual(facts.roles, ['storage']);
  assert.deepEqual(facts.storage, { providers: ['qcow2'], poolDirs: [root] });
  assert.equal(await storageNodeFor(db, settings), hostId, 'a pool in its directory');
  assert.equal(await storageNodeFor(db, { ...settings, url: `file://${root}/sub dir` }), hostId, 'below it');
  for (const other of [
    { ...settings, url: `file://${root}-other` },
    { ...settings, provider: 'tgt', url: `iscsi://127.0.0.1:3260${root}` },
  ]) {
    const e = await settled(storageNodeFor(db, other));
    assert.ok(e instanceof StrataError && e.code === 'UNAVAILABLE' && e.retryable, String(e));
  }
  // A storage-only node is Up but runs no VMs: it is never picked as a VM's host.
  const picked = await settled(pickHost(db, { hostId: null } as Vm));
  assert.ok(picked instanceof StrataError && picked.code === 'UNAVAILABLE', String(picked));
});

test("a driver's coded errors cross the channel with their code, retryable and details intact", async () => {
  const driver = remoteDriverFactories(['qcow2'], db, () => hub)['qcow2']!(poolRow);
  const volumeId = `rdrv-${tag}-v`;
  await driver.createVolume(ctx, { volumeId, sizeBytes: 4 * MiB });
  // Not retryable: the same id with other parameters.
  const conflict = await settled(driver.createVolume(ctx, { volumeId, sizeBytes: 8 * MiB }));
  assert.ok(conflict instanceof StrataError, 'a StrataError on the server side');
  assert.equal(conflict.code, 'STORAGE_ID_CONFLICT');
  assert.equal(conflict.retryable, false);
  const missing = await settled(driver.getVolume(ctx, { volumeId: `rdrv-${tag}-ghost` }));
  assert.ok(missing instanceof StrataError && missing.code === 'NOT_FOUND' && !missing.retryable);
  assert.equal(missing.params['id'], `rdrv-${tag}-ghost`, 'details cross too');
  // Retryable, raised by the node itself: a pool outside what it serves.
  const unserved = await settled(
    hub.send(hostId, 'storage.call', {
      poolId: 'elsewhere',
      pool: { ...settings, url: 'file:///srv/not-here' },
      method: 'capacity',
      deadlineMs: 10_000,
    }),
  );
  assert.ok(unserved instanceof StrataError && unserved.code === 'UNAVAILABLE' && unserved.retryable);
  // Bad input to the command is refused, coded.
  const bad = await settled(
    hub.send(hostId, 'storage.call', {
      poolId: 'p',
      pool: settings,
      method: 'close' as never,
      deadlineMs: 1,
    }),
  );
  assert.ok(bad instanceof StrataError && bad.code === 'INVALID_ARGUMENT', String(bad));
  assert.deepEqual(await driver.deleteVolume(ctx, { volumeId }), { deleted: true });
});

test('the deadline aborts the driver on the node; the caller’s signal stops the wait at once', async () => {
  // A template that is a FIFO nobody writes: qemu-img blocks opening it until it is killed.
  const fifo = join(dir, 'stalled template');
  await run('mkfifo', [fifo]);
  const driver = remoteDriverFactories(
    ['qcow2'],
    db,
    () => hub,
    () => 2_000,
  )['qcow2']!(poolRow);
  const req = (volumeId: string) => ({
    volumeId,
    sizeBytes: 4 * MiB,
    template: { id: 'stalled', path: fifo, format: 'raw' as const },
  });
  let started = Date.now();
  const byDeadline = await settled(driver.createVolumeFromTemplate(ctx, req(`rdrv-${tag}-d1`)));
  const tookMs = Date.now() - started;
  assert.ok(byDeadline instanceof StrataError, String(byDeadline));
  assert.equal(byDeadline.code, 'STORAGE_CANCELLED', 'the node aborted the driver at the deadline');
  assert.equal(byDeadline.retryable, true);
  assert.ok(tookMs >= 1_900 && tookMs < 10_000, `answered at the deadline, not later (${tookMs} ms)`);
  assert.equal(
    ((await settled(driver.getVolume(ctx, { volumeId: `rdrv-${tag}-d1` }))) as StrataError).code,
    'NOT_FOUND',
    'nothing left behind',
  );

  // The caller gives up first: it is answered at once; the node still stops at its deadline.
  started = Date.now();
  const byCaller = await settled(
    driver.createVolumeFromTemplate({ signal: AbortSignal.timeout(300) }, req(`rdrv-${tag}-d2`)),
  );
  assert.ok(byCaller instanceof StrataError && byCaller.code === 'STORAGE_CANCELLED', String(byCaller));
  assert.ok(Date.now() - started < 1_500, 'the caller did not wait for the node');
  // The node still serves the pool meanwhile.
  assert.equal((await driver.capacity(ctx)).provisionedBytes, 0);
  await new Promise((r) => setTimeout(r, 2_500));
  assert.equal(
    ((await settled(driver.getVolume(ctx, { volumeId: `rdrv-${tag}-d2` }))) as StrataError).code,
    'NOT_FOUND',
  );
  assert.ok((await hub.send(hostId, 'agent.ping', {})).pid > 0, 'the node still answers');
});
