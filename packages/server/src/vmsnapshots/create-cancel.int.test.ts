import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database } from '../db/index.js';
import { TEST_DATABASES } from '../db/test-databases.js';
import { createJobEngine, type JobEngine } from '../jobs/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { SYSTEM_ACTOR } from '../services/actor.js';
import { createServices, type Services } from '../services/index.js';
import { vmSnapshotCreateJob } from './create-job.js';
import { snapshotStrategies } from './strategy/index.js';
import { tempSecretBox } from '../secrets/testing/temp-box.js';

// A VM-snapshot create cancelled while queued leaves no Allocated snapshot behind: its onCancelled
// marks it Error in the cancel's own transaction, so the VM takes the next snapshot at once. The
// engine is never started (a queued job never reaches a step), so the orchestration's deps carry
// only what cancelling reads: the database and the event service.
for (const database of TEST_DATABASES) {
  void describe(`VM-snapshot create cancelled while queued, on ${database.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let engine: JobEngine;
    let s: Services;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      db = await openDatabase(opened.url);
      engine = createJobEngine({ db, serverId: 'cancel-test' });
      s = createServices(db, engine, { secrets: await tempSecretBox() });
      const deps = { db, events: s.events } as unknown as OrchestrationDeps;
      engine.register(vmSnapshotCreateJob(deps, snapshotStrategies()));
    });

    after(async () => {
      await db?.close();
      await drop?.();
    });

    void test('the snapshot becomes Error with the job; the next create on the VM is accepted', async () => {
      const account = await s.accounts.create(SYSTEM_ACTOR, { name: 'tenant' });
      const vm = await s.vms.create(SYSTEM_ACTOR, { name: `cancel "me" <vm>`, accountId: account.id });
      const first = await s.operations.createVmSnapshot(SYSTEM_ACTOR, { vmId: vm.id, name: 'first' });
      assert.equal(first.resource.state, 'Allocated');
      const cancelled = await engine.cancel(first.job.id);
      assert.equal(cancelled.state, 'Failed');
      assert.equal(cancelled.error?.code, 'JOB_CANCELLED');
      assert.equal((await s.vmSnapshots.get(SYSTEM_ACTOR, first.resource.id)).state, 'Error');
      const next = await s.operations.createVmSnapshot(SYSTEM_ACTOR, { vmId: vm.id, name: 'second' });
      assert.equal(next.resource.state, 'Allocated');
    });
  });
}
