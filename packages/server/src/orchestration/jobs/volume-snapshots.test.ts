import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { Json, StepContext } from '../../jobs/index.js';
import type { AgentPort } from '../agent-port.js';
import type { OrchestrationDeps } from '../deps.js';
import { transientOverlay, type GroupGuest } from './group-cut.js';
import { volumeSnapshotCreateJob } from './volume-snapshots.js';

// The take step of a single-volume snapshot and its undo, with a recording fake agent, database
// and driver (a unit test: no storage or guest here). The hold itself runs on a real guest in
// hold/hold.int.test.ts, with the same cutUnderFreeze this step calls.

const at = new Date().toISOString();
const rows: Record<string, Record<string, unknown>> = {
  volume_snapshots: { volume_id: 'vol-1', state: 'Creating' },
  volumes: {
    id: 'vol-1',
    account_id: 'a',
    name: 'data',
    type: 'DATADISK',
    state: 'Ready',
    pool_id: 'pool-tgt',
    vm_id: 'vm-1',
    device_name: 'vdb',
    size_bytes: 1,
    created_at: at,
  },
  vms: {
    id: 'vm-1',
    account_id: 'a',
    name: 'w',
    state: 'Running',
    host_id: 'h1',
    cpus: 1,
    memory_bytes: 1,
    created_at: at,
  },
};
const stateDir = '/var/lib/strata/state';
const guest: GroupGuest = { hostId: 'h1', vm: 'vm-1', vmId: 'vm-1', stateDir, groupKey: 'vsnap-1' };
const overlay = transientOverlay(guest, 'vdb');

function fakes(heldMs: number, onOverlay = false) {
  const calls: string[] = [];
  const agent: AgentPort = {
    async send(_host, command, params) {
      await Promise.resolve();
      const p = params as { deadlineMs?: number; disks?: Array<{ overlayPath: string }>; target?: string };
      if (command === 'snapshot.heldCut') {
        calls.push(`heldCut ${p.disks?.map((d) => d.overlayPath).join(',')} deadline=${p.deadlineMs}`);
        return { heldMs, snapshotMs: 1, tookMs: heldMs } as never;
      }
      if (command === 'vm.state')
        return { disks: [{ target: 'vdb', source: onOverlay ? overlay : 'iqn.x:vol-1/1' }] } as never;
      calls.push(command === 'snapshot.blockCommit' ? `blockCommit ${p.target}` : command);
      return {} as never;
    },
  };
  const driver = {
    type: 'tgt',
    capabilities: { volumeSnapshot: true, vmSnapshotHook: 'storage' },
    createSnapshot() {
      calls.push('createSnapshot');
      return Promise.resolve({ snapshot: { backendRef: 'tgt:snap', sizeBytes: 1 } });
    },
    deleteSnapshot() {
      calls.push('deleteSnapshot');
      return Promise.resolve({ deleted: true });
    },
  };
  const deps = {
    db: {
      query: (sql: string) => Promise.resolve([rows[/FROM (\w+)/.exec(sql)?.[1] ?? ''] ?? {}]),
    },
    agent,
    drivers: { forPool: () => Promise.resolve(driver) },
    stateDir,
  } as unknown as OrchestrationDeps;
  const step = volumeSnapshotCreateJob(deps).steps.find((s) => s.name === 'take')!;
  const ctx = {
    jobId: 'job-1',
    signal: new AbortController().signal,
    log: { info: () => undefined },
  } as unknown as StepContext;
  const take = step as { run(c: StepContext, i: Json, p: object): Promise<Json> } & {
    compensate(c: StepContext, i: Json, o: undefined, p: object): Promise<void>;
  };
  return {
    calls,
    run: async (input: Json) => (await take.run(ctx, input, {})) as { holdMs: number },
    undo: (input: Json) => take.compensate(ctx, input, undefined, {}),
  };
}

afterEach(() => {
  delete process.env['STRATA_HOLD_DEADLINE_MS'];
});

test('a quiesced snapshot of a running guest’s disk: frozen for the overlay only, the backend after, committed back', async () => {
  process.env['STRATA_HOLD_DEADLINE_MS'] = '800';
  const { calls, run } = fakes(25);
  const out = await run({ snapshotId: 'vsnap-1', quiesce: true });
  assert.equal(out.holdMs, 25);
  assert.deepEqual(calls, [
    `heldCut ${overlay} deadline=800`,
    'createSnapshot',
    'blockCommit vdb',
    'file.remove',
  ]);
});

test('past the configured deadline the snapshot fails before the backend takes it; its undo commits the overlay back', async () => {
  process.env['STRATA_HOLD_DEADLINE_MS'] = '800';
  const { calls, run, undo } = fakes(800, true);
  const input = { snapshotId: 'vsnap-1', quiesce: true };
  await assert.rejects(run(input), (e: unknown) => (e as { code?: string }).code === 'HOLD_EXPIRED');
  assert.deepEqual(calls, [`heldCut ${overlay} deadline=800`]);
  calls.length = 0;
  await undo(input);
  assert.deepEqual(calls, ['guest.thaw', 'blockCommit vdb', 'file.remove', 'deleteSnapshot']);
});

test('without quiesce nothing is held: the backend snapshots the volume as it is', async () => {
  const { calls, run } = fakes(0);
  const out = await run({ snapshotId: 'vsnap-1' });
  assert.equal(out.holdMs, 0);
  assert.deepEqual(calls, ['createSnapshot']);
});
