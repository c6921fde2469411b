import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ansibleMissing, failures, playbook } from '../cloudstack/ansible-runner.js';
import { ApiClient } from '../api/test-client.js';
import { cloudstack, type CsRun } from '../cloudstack/cs-client.js';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';
import { joinStorageNode } from '../orchestration/testing/storage-node.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import { dropOrphanedSchedules, enforceRetention, runDueSchedules, startScheduler } from './scheduler.js';

// Scheduled volume snapshots on the real server (PGlite, job engine) with a qcow2 pool served by a
// real storage agent; a detached volume needs no guest. The schedulers under test get a clock in
// 2030, so the server's own scheduler (on the real clock) never finds these schedules due.

const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let node: { stop(): Promise<void> } | undefined;
let volumeId = '';
let offeringId = '';
let poolId = '';
const ansibleSkip = await ansibleMissing();

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}

const db = () => h.server.services.db;
const ops = () => h.server.services.operations;

/** The states of the snapshots a schedule made, oldest first. */
async function made(scheduleId: string): Promise<Array<{ id: string; state: string | null }>> {
  const rows = await db().query(
    `SELECT ss.snapshot_id, v.state FROM scheduled_snapshots ss
       LEFT JOIN volume_snapshots v ON v.id = ss.snapshot_id
      WHERE ss.schedule_id = $1 ORDER BY ss.created_at, ss.snapshot_id`,
    [scheduleId],
  );
  return rows.map((r) => ({ id: String(r['snapshot_id']), state: (r['state'] as string | null) ?? null }));
}

/** Waits (generously: the machine is loaded) until no snapshot of the schedule is in motion. */
async function settled(scheduleId: string): Promise<Array<{ id: string; state: string | null }>> {
  for (let i = 0; i < 600; i++) {
    const all = await made(scheduleId);
    if (all.every((s) => s.state !== 'Creating' && s.state !== 'Deleting')) return all;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`snapshots of ${scheduleId} still moving: ${JSON.stringify(await made(scheduleId))}`);
}

before(async () => {
  h = await startHarness();
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
      capacitybytes: String(20 * 1024 ** 3),
      capacityiops: '1000',
    }),
  );
  const off = ok(await cloudstack(h.admin, 'createDiskOffering', { name: `sched-${suffix}`, disksize: '1' }));
  offeringId = String((off['diskoffering'] as Record<string, unknown>)['id']);
  poolId = String((pool['storagepool'] as Record<string, unknown>)['id']);
  const vol = ok(
    await cloudstack(h.user, 'createVolume', {
      name: `scheduled ${suffix}`,
      diskofferingid: offeringId,
      storageid: poolId,
    }),
  );
  volumeId = String((vol['volume'] as Record<string, unknown>)['id']);
});

after(async () => {
  await node?.stop();
  await h?.close();
});

void test('snapshot policies through CloudStack: create, list, update, refuse bad input, delete', async () => {
  const created = ok(
    await cloudstack(h.user, 'createSnapshotPolicy', {
      volumeid: volumeId,
      intervaltype: 'daily',
      schedule: '30:02',
      timezone: 'Europe/Paris',
      maxsnaps: '3',
    }),
  );
  const p = created['snapshotpolicy'] as Record<string, unknown>;
  assert.equal(p['intervaltype'], 1);
  assert.equal(p['schedule'], '30:02');
  assert.equal(p['maxsnaps'], 3);
  // 02:30 in Paris is 00:30 or 01:30 UTC, depending on summer time.
  assert.match(String(p['nextrun']), /T0[01]:30:00\.000Z$/);
  const id = String(p['id']);
  // A second DAILY policy of the volume replaces the first, as in CloudStack.
  const again = ok(
    await cloudstack(h.user, 'createSnapshotPolicy', {
      volumeid: volumeId,
      intervaltype: 'DAILY',
      schedule: '00:04',
      timezone: 'UTC',
      maxsnaps: '2',
    }),
  );
  assert.equal((again['snapshotpolicy'] as Record<string, unknown>)['id'], id);
  const listed = ok(await cloudstack(h.user, 'listSnapshotPolicies', { volumeid: volumeId }));
  assert.equal(listed['count'], 1);
  const updated = ok(await cloudstack(h.user, 'updateSnapshotPolicy', { id, maxsnaps: '5' }));
  assert.equal((updated['snapshotpolicy'] as Record<string, unknown>)['maxsnaps'], 5);
  const bad = await cloudstack(h.user, 'createSnapshotPolicy', {
    volumeid: volumeId,
    intervaltype: 'WEEKLY',
    schedule: '00:04:9',
    timezone: 'UTC',
    maxsnaps: '2',
  });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, /day must be 1-7/);
  const badZone = await cloudstack(h.user, 'createSnapshotPolicy', {
    volumeid: volumeId,
    intervaltype: 'HOURLY',
    schedule: '00',
    timezone: 'Nowhere/"<x>"',
    maxsnaps: '2',
  });
  assert.notEqual(badZone.code, 0);
  assert.match(badZone.stdout + badZone.stderr, /unknown time zone/);
  ok(await cloudstack(h.user, 'deleteSnapshotPolicies', { id }));
  const empty = await cloudstack(h.user, 'listSnapshotPolicies', { volumeid: volumeId });
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.json?.['count'], undefined);
  assert.deepEqual(await h.server.services.snapshotSchedules.list(h.user.actor, { targetId: volumeId }), []);
});

void test('REST: another account cannot see a schedule; PATCH pauses it', async () => {
  const api = new ApiClient({ url: h.server.url }, { apiKey: h.user.key, secretKey: h.user.secret });
  const made = await api.post('/v1/snapshot-schedules', {
    kind: 'volume',
    targetId: volumeId,
    intervalType: 'WEEKLY',
    schedule: '00:03:1',
    timezone: 'Asia/Tokyo',
    maxSnaps: 4,
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = String(made.body.id);
  const paused = await api.request('PATCH', `/v1/snapshot-schedules/${id}`, { body: { enabled: false } });
  assert.equal(paused.status, 200);
  assert.equal(paused.body.enabled, false);
  const other = await h.server.services.accounts.create(SYSTEM_ACTOR, {
    name: `other-${suffix}`,
    role: 'user',
  });
  const otherActor = { accountId: other.id, userId: null, role: 'user' as const, via: 'system' as const };
  assert.deepEqual(await h.server.services.snapshotSchedules.list(otherActor), []);
  await assert.rejects(h.server.services.snapshotSchedules.get(otherActor, id), /NOT_FOUND|not found/i);
  assert.equal((await api.delete(`/v1/snapshot-schedules/${id}`)).status, 204);
});

void test('two schedulers fire a due slot once; missed slots fire once; retention keeps maxsnaps', async () => {
  const s = await h.server.services.snapshotSchedules.create(h.user.actor, {
    kind: 'volume',
    targetId: volumeId,
    intervalType: 'HOURLY',
    schedule: '00',
    timezone: 'Europe/Paris',
    maxSnaps: 2,
  });
  // The servers were down from 2030-01-01 00:00 UTC until 05:30: five hourly slots missed.
  await db().query(`UPDATE snapshot_schedules SET next_run_at = '2030-01-01T00:00:00Z' WHERE id = $1`, [
    s.id,
  ]);
  const t0 = new Date('2030-01-01T05:30:00Z');
  const fired = await Promise.all([runDueSchedules(db(), ops(), t0), runDueSchedules(db(), ops(), t0)]);
  assert.equal(fired[0] + fired[1], 1, `fired ${JSON.stringify(fired)}`);
  const after0 = await h.server.services.snapshotSchedules.get(h.user.actor, s.id);
  assert.equal(after0.nextRunAt, '2030-01-01T06:00:00.000Z');
  assert.equal(after0.lastError, null);
  assert.deepEqual(
    (await settled(s.id)).map((x) => x.state),
    ['Ready'],
  );
  // The same instant again: nothing is due.
  assert.equal(await runDueSchedules(db(), ops(), t0), 0);

  for (const at of ['2030-01-01T06:00:00Z', '2030-01-01T07:00:30Z']) {
    assert.equal(await runDueSchedules(db(), ops(), new Date(at)), 1);
    await settled(s.id);
  }
  const three = await made(s.id);
  assert.deepEqual(
    three.map((x) => x.state),
    ['Ready', 'Ready', 'Ready'],
  );
  // Retention, also raced: the oldest one goes, through the normal delete job, once.
  const t1 = new Date('2030-01-01T07:01:00Z');
  const queued = await Promise.all([enforceRetention(db(), ops(), t1), enforceRetention(db(), ops(), t1)]);
  assert.equal(queued[0] + queued[1], 1);
  const jobStates = async () =>
    (
      await db().query(`SELECT state FROM jobs WHERE type = 'volume-snapshot.delete' AND resource_id = $1`, [
        three[0]!.id,
      ])
    ).map((j) => String(j['state']));
  for (let i = 0; i < 600 && !['Succeeded', 'Failed'].includes((await jobStates())[0] ?? ''); i++)
    await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await jobStates(), ['Succeeded']);
  const left = await settled(s.id);
  assert.notEqual(left[0]?.state, 'Ready', `the oldest is deleted: ${JSON.stringify(left)}`);
  assert.deepEqual(
    left.slice(1).map((x) => x.id),
    three.slice(1).map((x) => x.id),
  );
  assert.deepEqual(
    left.slice(1).map((x) => x.state),
    ['Ready', 'Ready'],
  );
  assert.equal(await enforceRetention(db(), ops(), t1), 0);
  // The deleted one's record goes; the kept ones' stay.
  await dropOrphanedSchedules(db());
  assert.deepEqual(
    (await made(s.id)).map((x) => x.id),
    three.slice(1).map((x) => x.id),
  );
});

void test('two scheduler loops on one database run a due weekly slot once', async () => {
  const s = await h.server.services.snapshotSchedules.create(h.user.actor, {
    kind: 'volume',
    targetId: volumeId,
    intervalType: 'WEEKLY',
    schedule: '00:12:4',
    timezone: 'UTC',
    maxSnaps: 10,
  });
  await db().query(`UPDATE snapshot_schedules SET next_run_at = '2030-01-01T00:00:00Z' WHERE id = $1`, [
    s.id,
  ]);
  const clock = () => new Date('2030-01-06T00:00:00Z');
  const quiet = { info: () => undefined, warn: () => undefined };
  const loops = [0, 1].map(() => startScheduler(db(), ops(), quiet, { everyMs: 100, now: clock }));
  try {
    for (let i = 0; i < 200 && (await made(s.id)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    // Several more passes of both loops: still one.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await Promise.all(loops.map((l) => l.close()));
  }
  assert.equal((await made(s.id)).length, 1);
  // 2030-01-06 is a Sunday; day 4 is Wednesday, 2030-01-09 at 12:00.
  assert.equal(
    (await h.server.services.snapshotSchedules.get(h.user.actor, s.id)).nextRunAt,
    '2030-01-09T12:00:00.000Z',
  );
  assert.deepEqual(
    (await settled(s.id)).map((x) => x.state),
    ['Ready'],
  );
  await h.server.services.snapshotSchedules.delete(h.user.actor, [s.id]);
});

void test('a deleted volume takes its schedules with it', async () => {
  const vol = ok(
    await cloudstack(h.user, 'createVolume', {
      name: `brief ${suffix}`,
      diskofferingid: offeringId,
      storageid: poolId,
    }),
  );
  const id = String((vol['volume'] as Record<string, unknown>)['id']);
  ok(
    await cloudstack(h.user, 'createSnapshotPolicy', {
      volumeid: id,
      intervaltype: 'HOURLY',
      schedule: '10',
      timezone: 'UTC',
      maxsnaps: '1',
    }),
  );
  ok(await cloudstack(h.user, 'deleteVolume', { id }));
  await dropOrphanedSchedules(db());
  assert.deepEqual(await h.server.services.snapshotSchedules.list(h.user.actor, { targetId: id }), []);
  assert.equal(
    (await h.server.services.snapshotSchedules.list(h.user.actor, { targetId: volumeId })).length,
    1,
  );
});

void test(
  "Ansible's cs_snapshot_policy: present changes once, a new slot changes it, absent removes it",
  { skip: ansibleSkip ?? false },
  async () => {
    const work = await mkdtemp(join(tmpdir(), 'strata-ansible-sched-'));
    await mkdir(join(work, 'tmp'));
    // The module looks the volume up through its VM: a data volume attached to a stopped VM.
    const vm = await h.server.services.vms.create(h.user.actor, {
      name: `ansible ${suffix}`,
      cpus: 1,
      memoryBytes: 128 * 1024 ** 2,
    });
    const vol = ok(
      await cloudstack(h.user, 'createVolume', {
        name: `ansible 'data' ${suffix}`,
        diskofferingid: offeringId,
        storageid: poolId,
      }),
    );
    const volume = vol['volume'] as Record<string, unknown>;
    ok(await cloudstack(h.user, 'attachVolume', { id: String(volume['id']), virtualmachineid: vm.id }));
    try {
      const run = async (extra: Record<string, unknown>, changed: number) => {
        const r = await playbook(
          h.user,
          'snapshot-policy',
          { volume: volume['name'], vm: vm.name, ...extra },
          work,
        );
        assert.equal(r.recap.failures, 0, `${failures(r)}\n${r.stderr}`);
        assert.equal(r.recap.changed, changed, JSON.stringify(extra));
      };
      const daily = async () =>
        (
          await h.server.services.snapshotSchedules.list(h.user.actor, { targetId: String(volume['id']) })
        ).filter((x) => x.intervalType === 'DAILY');
      await run({ policy_state: 'present' }, 1);
      await run({ policy_state: 'present' }, 0);
      assert.deepEqual(
        (await daily()).map((x) => [x.schedule, x.timezone, x.maxSnaps]),
        [['30:02', 'Europe/Paris', 3]],
      );
      await run({ policy_state: 'present', policy_schedule: '00:03', policy_keep: 5 }, 1);
      assert.deepEqual(
        (await daily()).map((x) => [x.schedule, x.maxSnaps]),
        [['00:03', 5]],
      );
      await run({ policy_state: 'absent' }, 1);
      await run({ policy_state: 'absent' }, 0);
      assert.deepEqual(await daily(), []);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
);

void test("the server's own scheduler (started with its jobs) runs a schedule due on the real clock", async () => {
  const s = await h.server.services.snapshotSchedules.create(h.user.actor, {
    kind: 'volume',
    targetId: volumeId,
    intervalType: 'MONTHLY',
    schedule: '00:00:1',
    timezone: 'UTC',
    maxSnaps: 10,
  });
  await db().query(`UPDATE snapshot_schedules SET next_run_at = now() - interval '1 minute' WHERE id = $1`, [
    s.id,
  ]);
  // It passes every 30 s: wait up to three passes on a loaded machine.
  for (let i = 0; i < 360 && (await made(s.id)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 250));
  assert.equal((await made(s.id)).length, 1);
  assert.ok(
    Date.parse((await h.server.services.snapshotSchedules.get(h.user.actor, s.id)).nextRunAt) > Date.now(),
  );
  await settled(s.id);
  await h.server.services.snapshotSchedules.delete(h.user.actor, [s.id]);
});
