import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '@strata/server/cloudstack/test-harness';
import { runDueSchedules } from '@strata/server/schedules/scheduler';
import { cliJson, runCli, type CliRun } from './test-support/run-cli.js';

// `strata schedules` as a user runs it (a real process against a real server on PGlite): a VM
// snapshot schedule made, changed, listed and deleted; when its slot is due the scheduler queues
// the normal VM-snapshot job for the VM.

const suffix = Math.random().toString(36).slice(2, 6);
let h: Harness & { dataDir: string };
let home = '';
let vmId = '';

function strata(args: readonly string[]): Promise<CliRun> {
  const env = {
    ...process.env,
    HOME: home,
    STRATA_CONFIG: join(home, 'config.json'),
    STRATA_ENDPOINT: h.server.url,
    STRATA_API_KEY: h.user.key,
    STRATA_SECRET_KEY: h.user.secret,
  };
  return runCli(args, env, 120_000);
}

const json = <T>(args: readonly string[]) => cliJson<T>(strata, args);

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'strata-cli-schedules-'));
  h = await startHarness();
  const vm = await h.server.services.vms.create(h.user.actor, {
    name: `vm "${suffix}" <$x>`,
    cpus: 1,
    memoryBytes: 128 * 1024 ** 2,
  });
  vmId = vm.id;
});

after(async () => {
  await h?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

void test('strata schedules create, update, list, delete a VM snapshot schedule; a due slot queues the VM snapshot', async () => {
  type Schedule = { id: string; kind: string; maxSnaps: number; enabled: boolean; schedule: string };
  const made = await json<Schedule>([
    'schedules',
    'create',
    'vm',
    vmId,
    '--interval',
    'monthly',
    '--at',
    '15:03:28',
    '--timezone',
    'America/New_York',
    '--keep',
    '3',
  ]);
  assert.equal(made.kind, 'vm');
  assert.equal(made.maxSnaps, 3);
  const bad = await strata([
    'schedules',
    'create',
    'vm',
    vmId,
    '--interval',
    'MONTHLY',
    '--at',
    '0:0:31',
    '--keep',
    '1',
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /INVALID_ARGUMENT/);
  const paused = await json<Schedule>(['schedules', 'update', made.id, '--keep', '5', '--pause']);
  assert.equal(paused.maxSnaps, 5);
  assert.equal(paused.enabled, false);
  const resumed = await json<Schedule>(['schedules', 'update', made.id, '--resume', '--at', '00:04:01']);
  assert.equal(resumed.enabled, true);
  assert.equal(resumed.schedule, '00:04:01');
  const listed = await json<{ items: Schedule[] }>(['schedules', 'list', '--kind', 'vm', '--target', vmId]);
  assert.deepEqual(
    listed.items.map((s) => s.id),
    [made.id],
  );

  // Due (a clock far ahead of the server's own scheduler): the normal VM-snapshot job is queued.
  const db = h.server.services.db;
  await db.query(`UPDATE snapshot_schedules SET next_run_at = '2030-01-01T00:00:00Z' WHERE id = $1`, [
    made.id,
  ]);
  assert.equal(await runDueSchedules(db, h.server.services.operations, new Date('2030-02-01T00:00:00Z')), 1);
  const snaps = await db.query(
    `SELECT s.id, j.id AS job_id FROM scheduled_snapshots ss JOIN vm_snapshots s ON s.id = ss.snapshot_id
       JOIN jobs j ON j.resource_id = s.id AND j.type = 'vm-snapshot.create'
      WHERE ss.schedule_id = $1 AND s.vm_id = $2`,
    [made.id, vmId],
  );
  assert.equal(snaps.length, 1);
  await h.server.engine.wait(String(snaps[0]!['job_id']), 120_000);

  const gone = await strata(['schedules', 'delete', made.id]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual((await json<{ items: Schedule[] }>(['schedules', 'list'])).items, []);
});
