import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_VM_SNAPSHOTS } from '@strata/core';
import { ApiClient, type ApiAnswer } from '../api/test-client.js';
import { cloudstack, type CsRun } from '../cloudstack/cs-client.js';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';

// The rules of a new VM snapshot live once, in core (snapshot/checks.ts); this drives them through
// the server as it ships (REST and the real `cloudstack` client) and checks that each documented
// code reaches both: its HTTP status on REST, CloudStack's errorcode/cserrorcode there. The
// refusals come before any job, so no agent is needed; VM states and existing snapshots are set
// in the database. SNAPSHOT_STRATEGY_MISSING is the revert or delete job's first step.

let h: Harness & { dataDir: string };
let rest: ApiClient;
const suffix = Math.random().toString(36).slice(2, 8);

before(async () => {
  h = await startHarness();
  rest = new ApiClient({ url: h.server.url }, { apiKey: h.user.key, secretKey: h.user.secret });
});

after(async () => {
  await h?.close();
});

const sql = (text: string, params: unknown[] = []) => h.server.services.db.query(text, params);

async function vmIn(state: string): Promise<string> {
  const vm = await h.server.services.vms.create(h.user.actor, {
    name: `checks-${state}-${suffix}-${Math.random().toString(36).slice(2, 6)}`,
    cpus: 1,
    memoryBytes: 128 * 1024 ** 2,
  });
  await sql('UPDATE vms SET state = $2 WHERE id = $1', [vm.id, state]);
  return vm.id;
}

async function snapshotsOn(vmId: string, names: readonly string[], strategy: string | null = 'hypervisor') {
  const ids: string[] = [];
  for (const name of names) {
    const id = `vmsnap-${name}-${Math.random().toString(36).slice(2, 8)}`;
    await sql(
      `INSERT INTO vm_snapshots (id, account_id, vm_id, name, state, type, strategy)
       VALUES ($1, $2, $3, $4, 'Ready', 'Disk', $5)`,
      [id, h.user.actor.accountId, vmId, name, strategy],
    );
    ids.push(id);
  }
  return ids;
}

function restRefused(r: ApiAnswer, status: number, code: string): Record<string, unknown> {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  assert.equal(r.body.error.status, status);
  return r.body.error.details as Record<string, unknown>;
}

function csRefused(r: CsRun, command: string, errorcode: number, cserrorcode: number, code: string): void {
  assert.equal(r.code, 1, r.stdout);
  const e = (r.json?.[`${command.toLowerCase()}response`] ?? {}) as Record<string, unknown>;
  assert.deepEqual(
    [e['errorcode'], e['cserrorcode'], e['stratacode']],
    [errorcode, cserrorcode, code],
    r.stdout,
  );
}

const take = (body: Record<string, unknown>) => rest.request('POST', '/v1/vm-snapshots', { body });
const csTake = (args: Record<string, string>) => cloudstack(h.user, 'createVMSnapshot', args);

void test('VM_STATE_INVALID: a VM that is neither Running nor Stopped (REST 409, CloudStack 431/4350)', async () => {
  const vmId = await vmIn('Starting');
  const details = restRefused(await take({ vmId, name: 'a' }), 409, 'VM_STATE_INVALID');
  assert.deepEqual([details['vm'], details['state']], [vmId, 'Starting']);
  csRefused(
    await csTake({ virtualmachineid: vmId, name: 'a' }),
    'createVMSnapshot',
    431,
    4350,
    'VM_STATE_INVALID',
  );
});

void test('MEMORY_SNAPSHOT_NEEDS_RUNNING_VM: memory of a stopped VM (REST 409, CloudStack 431/4350)', async () => {
  const vmId = await vmIn('Stopped');
  const details = restRefused(
    await take({ vmId, name: 'mem', snapshotMemory: true }),
    409,
    'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM',
  );
  assert.deepEqual(details, { vm: vmId, state: 'Stopped' });
  csRefused(
    await csTake({ virtualmachineid: vmId, name: 'mem', snapshotmemory: 'true' }),
    'createVMSnapshot',
    431,
    4350,
    'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM',
  );
});

void test('VM_SNAPSHOT_NAME_TAKEN: a live snapshot holds its name (REST 409, CloudStack 431/4350)', async () => {
  const vmId = await vmIn('Stopped');
  await snapshotsOn(vmId, ['taken']);
  const details = restRefused(await take({ vmId, name: 'taken' }), 409, 'VM_SNAPSHOT_NAME_TAKEN');
  assert.deepEqual(details, { vm: vmId, name: 'taken' });
  csRefused(
    await csTake({ virtualmachineid: vmId, name: 'taken' }),
    'createVMSnapshot',
    431,
    4350,
    'VM_SNAPSHOT_NAME_TAKEN',
  );
});

void test('VM_SNAPSHOT_LIMIT: 32 live snapshots (REST 409, CloudStack 530/4250 as vmsnapshot.max)', async () => {
  const vmId = await vmIn('Stopped');
  await snapshotsOn(
    vmId,
    Array.from({ length: MAX_VM_SNAPSHOTS }, (_, i) => `s${i}`),
  );
  const details = restRefused(await take({ vmId, name: 'one-more' }), 409, 'VM_SNAPSHOT_LIMIT');
  assert.deepEqual(details, { vm: vmId, count: MAX_VM_SNAPSHOTS, max: MAX_VM_SNAPSHOTS });
  csRefused(
    await csTake({ virtualmachineid: vmId, name: 'one-more' }),
    'createVMSnapshot',
    530,
    4250,
    'VM_SNAPSHOT_LIMIT',
  );
  // Nothing was recorded by the refusals.
  const rows = await sql('SELECT count(*)::int AS n FROM vm_snapshots WHERE vm_id = $1', [vmId]);
  assert.equal(rows[0]?.['n'], MAX_VM_SNAPSHOTS);
});

/** Waits for a job through REST; answers the job as REST shows it. */
async function restJob(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 30; i++) {
    const r = await rest.request('GET', `/v1/jobs/${id}`, { query: { wait: '5' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.state === 'Succeeded' || r.body.state === 'Failed') return r.body as Record<string, unknown>;
  }
  throw new Error(`job ${id} did not finish`);
}

async function csJob(jobid: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 60; i++) {
    const r = await cloudstack(h.user, 'queryAsyncJobResult', { jobid });
    assert.equal(r.code, 0, r.stdout);
    if (r.json?.['jobstatus'] !== 0) return r.json ?? {};
  }
  throw new Error(`job ${jobid} did not finish`);
}

void test('SNAPSHOT_STRATEGY_MISSING: revert and delete of a snapshot whose strategy is gone fail their job; the snapshot stays Ready', async () => {
  const vmId = await vmIn('Stopped');
  const [id] = await snapshotsOn(vmId, ['by-gone'], 'gone');
  const snapshotId = id!;
  const state = async () =>
    (await sql('SELECT state FROM vm_snapshots WHERE id = $1', [snapshotId]))[0]?.['state'];

  for (const [method, path] of [
    ['POST', `/v1/vm-snapshots/${snapshotId}/revert`],
    ['DELETE', `/v1/vm-snapshots/${snapshotId}`],
  ] as const) {
    const started = await rest.request(method, path);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const job = await restJob(String(started.body.job.id));
    assert.equal(job['state'], 'Failed', JSON.stringify(job));
    const error = job['error'] as { code: string; details: Record<string, unknown> };
    assert.equal(error.code, 'SNAPSHOT_STRATEGY_MISSING', JSON.stringify(job));
    assert.deepEqual(error.details, { snapshot: snapshotId, strategy: 'gone' });
    assert.equal(await state(), 'Ready', `${method} ${path} left the snapshot as it was`);
  }

  for (const command of ['revertToVMSnapshot', 'deleteVMSnapshot']) {
    const started = await cloudstack(h.user, command, { vmsnapshotid: snapshotId }, { noWait: true });
    assert.equal(started.code, 0, started.stdout);
    const r = await csJob(String(started.json?.['jobid']));
    assert.equal(r['jobstatus'], 2, JSON.stringify(r));
    assert.equal(r['jobresultcode'], 431);
    const result = r['jobresult'] as Record<string, unknown>;
    assert.deepEqual(
      [result['errorcode'], result['cserrorcode'], result['stratacode']],
      [431, 4350, 'SNAPSHOT_STRATEGY_MISSING'],
    );
    assert.equal(await state(), 'Ready', `${command} left the snapshot as it was`);
  }
});

void test('a snapshot recorded with no strategy (before strategies were recorded) still reverts and deletes', async () => {
  const vmId = await vmIn('Stopped');
  const [id] = await snapshotsOn(vmId, ['legacy'], null);
  const reverted = await rest.request('POST', `/v1/vm-snapshots/${id!}/revert`);
  assert.equal(reverted.status, 202, JSON.stringify(reverted.body));
  const revertJob = await restJob(String(reverted.body.job.id));
  assert.equal(revertJob['state'], 'Succeeded', JSON.stringify(revertJob));
  const deleted = await rest.request('DELETE', `/v1/vm-snapshots/${id!}`);
  assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
  const deleteJob = await restJob(String(deleted.body.job.id));
  assert.equal(deleteJob['state'], 'Succeeded', JSON.stringify(deleteJob));
  const row = (await sql('SELECT state FROM vm_snapshots WHERE id = $1', [id!]))[0];
  assert.equal(row?.['state'], 'Removed');
});
