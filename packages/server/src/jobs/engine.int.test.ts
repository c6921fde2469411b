import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import { createTestTables } from './testing/test-jobs.js';
import { attempts, backends, BUMP_COUNT, engineOn, runs, timeline } from './testing/suite.js';
import type { JobDefinition } from './types.js';

/** The engine's journal: steps, resume, compensation and per-key order, on PGlite and PostgreSQL. */
for (const backend of backends) {
  void describe(`job engine on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await backend.open());
      await createTestTables(db);
    });
    after(async () => cleanup());

    void test('steps run in order, are journaled, and the last output is the result', async () => {
      const engine = engineOn(db, 'a');
      engine.start();
      try {
        const job = await engine.submit(
          'test.three',
          { sleepMs: 10 },
          { accountId: 'acc', resourceType: 'vm', resourceId: 'vm-1' },
        );
        assert.equal(job.state, 'Queued');
        const done = await engine.wait(job.id, 20_000);
        assert.equal(done.state, 'Succeeded');
        assert.deepEqual(done.result, { done: true });
        assert.equal(done.progressPct, 100);
        const journal = await engine.steps(job.id);
        assert.deepEqual(
          journal.map((r) => [r.phase, r.name, r.status]),
          [
            ['run', 'first', 'done'],
            ['run', 'slow', 'done'],
            ['run', 'last', 'done'],
          ],
        );
        assert.deepEqual(journal[1]?.output, { slept: 10 });
        const progress = await engine.progressEvents(job.id);
        assert.deepEqual(
          progress.map((p) => [p.pct, p.message]),
          [[50, 'sleeping']],
        );
        assert.equal(await runs(db, job.id, 'first'), 1);
        assert.equal(await runs(db, job.id, 'last'), 1);
      } finally {
        await engine.stop();
      }
    });

    void test('a job submitted in a transaction is claimed when it commits, not at the next poll; a rollback leaves none', async () => {
      const engine = engineOn(db, 'tx', [], 600_000); // a poll would come only after the test's timeout
      engine.start();
      try {
        await sleep(200); // the start's own claim pass is over: only a commit can wake the engine now
        const t0 = Date.now();
        const job = await db.transaction((tx) =>
          engine.submit('test.three', { sleepMs: 10 }, { accountId: 'acc', tx }),
        );
        const done = await engine.wait(job.id, 10_000);
        assert.equal(done.state, 'Succeeded');
        assert.ok(Date.now() - t0 < 10_000);
        let lost = '';
        await assert.rejects(
          db.transaction(async (tx) => {
            lost = (await engine.submit('test.three', { sleepMs: 10 }, { accountId: 'acc', tx })).id;
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        await assert.rejects(engine.get(lost), { code: 'NOT_FOUND' });
      } finally {
        await engine.stop();
      }
    });

    void test('a job taken over after its server stopped resumes: done steps are not run again', async () => {
      const first = engineOn(db, 'first');
      first.start();
      const job = await first.submit('test.three', { sleepMs: 60_000 }, { accountId: 'acc' });
      while ((await attempts(db, job.id, 'slow')) === 0) await sleep(20);
      await first.stop(); // aborts the slow step and hands the lease back
      assert.equal((await first.get(job.id)).state, 'Running');
      // the next server runs the interrupted step again (quickly: test-jobs.ts) and finishes
      const second = engineOn(db, 'second');
      second.start();
      try {
        const done = await second.wait(job.id, 20_000);
        assert.equal(done.state, 'Succeeded');
        // 2, or 3 when the first server's last claim pass took the job back just as it stopped
        // (claimed, not run, handed back at once: engine.ts)
        assert.ok(done.epoch >= 2 && done.epoch <= 3, `taken over at epoch ${done.epoch}`);
        assert.equal(await runs(db, job.id, 'first'), 1, 'the completed step did not run again');
        assert.equal(await attempts(db, job.id, 'slow'), 2, 'the step in flight ran again');
        assert.equal(await runs(db, job.id, 'last'), 1);
      } finally {
        await second.stop();
      }
    });

    void test('onInterrupted=compensate undoes the interrupted and completed steps in reverse, then fails', async () => {
      const first = engineOn(db, 'c1');
      first.start();
      const job = await first.submit('test.three-compensating', { sleepMs: 60_000 }, { accountId: 'acc' });
      while ((await attempts(db, job.id, 'slow')) === 0) await sleep(20);
      await first.stop();
      const second = engineOn(db, 'c2');
      second.start();
      try {
        const done = await second.wait(job.id, 20_000);
        assert.equal(done.state, 'Failed');
        assert.equal(done.error?.code, 'JOB_INTERRUPTED');
        assert.equal(await attempts(db, job.id, 'undo-slow-unfinished'), 1);
        assert.equal(await runs(db, job.id, 'undo-first'), 1);
        assert.equal(await runs(db, job.id, 'last'), 0, 'nothing after the interrupted step ran');
        const journal = await second.steps(job.id);
        assert.deepEqual(
          journal.filter((r) => r.phase === 'compensate').map((r) => r.name),
          ['slow', 'first'],
        );
      } finally {
        await second.stop();
      }
    });

    void test('a failing step fails the job after compensating the completed steps newest first', async () => {
      const undone: string[] = [];
      const done = (what: string) => {
        undone.push(what);
        return Promise.resolve();
      };
      const def: JobDefinition = {
        type: `fail-${backend.name}`,
        steps: [
          {
            name: 'one',
            run: () => Promise.resolve(1),
            compensate: (_c, _i, out) => done(`one:${JSON.stringify(out)}`),
          },
          {
            name: 'two',
            transactional: true,
            run: async (ctx) => (await ctx.tx.query<{ x: number }>('SELECT 2 AS x'))[0]?.x ?? null,
            compensate: () => done('two'),
          },
          {
            name: 'three',
            run: () => Promise.reject(new Error('disk on fire')),
            compensate: (_c, _i, out) =>
              done(`three:${out === undefined ? 'undefined' : JSON.stringify(out)}`),
          },
          { name: 'four', run: () => Promise.resolve(4) },
        ],
      };
      const engine = engineOn(db, 'f', [def]);
      engine.start();
      try {
        const job = await engine.submit(def.type, {}, { accountId: 'acc' });
        const done = await engine.wait(job.id, 20_000);
        assert.equal(done.state, 'Failed');
        assert.equal(done.error?.code, 'INTERNAL');
        assert.match(done.error?.message ?? '', /disk on fire/);
        assert.deepEqual(undone, ['three:undefined', 'two', 'one:1']);
        const journal = await engine.steps(job.id);
        assert.deepEqual(
          journal.map((r) => `${r.phase}:${r.name}:${r.status}`),
          [
            'run:one:done',
            'run:two:done',
            'run:three:failed',
            'compensate:three:done',
            'compensate:two:done',
            'compensate:one:done',
          ],
        );
        // the failure is an event on the job's resource (here none: the job), in its final transaction
        const events = await db.query<{ type: string; resource_id: string; description: string }>(
          'SELECT type, resource_id, description FROM events WHERE job_id = $1',
          [job.id],
        );
        assert.deepEqual(
          events.map((e) => [e.type, e.resource_id]),
          [['job.Failed', job.id]],
        );
        assert.match(events[0]?.description ?? '', /failed \(undone\): INTERNAL: .*disk on fire/);
      } finally {
        await engine.stop();
      }
    });

    void test('a transactional step that fails rolls back whole and is not compensated; earlier steps are', async () => {
      const undone: string[] = [];
      const def: JobDefinition = {
        type: `txfail-${backend.name}`,
        steps: [
          {
            name: 'before',
            run: () => Promise.resolve('ok'),
            compensate: () => (undone.push('before'), Promise.resolve()),
          },
          {
            name: 'write',
            transactional: true,
            run: async (ctx) => {
              await ctx.tx.query(BUMP_COUNT, [ctx.jobId, 'partial']);
              await ctx.tx.query('SELECT * FROM no_such_table');
              return null;
            },
            compensate: () => (undone.push('write'), Promise.resolve()),
          },
        ],
      };
      const engine = engineOn(db, 'txfail', [def]);
      engine.start();
      try {
        const job = await engine.submit(def.type, {}, { accountId: 'acc' });
        const done = await engine.wait(job.id, 20_000);
        assert.equal(done.state, 'Failed');
        assert.match(done.error?.message ?? '', /no_such_table/);
        assert.deepEqual(undone, ['before']);
        assert.equal(await runs(db, job.id, 'partial'), 0, 'the failed step left no partial write');
      } finally {
        await engine.stop();
      }
    });

    void test('jobs with one lock key run one at a time in submit order; other keys run alongside', async () => {
      const log: Array<{ job: string; at: 'start' | 'end' }> = [];
      const def = timeline(`lock-${backend.name}`, log);
      const a = engineOn(db, 'la', [def]);
      const b = engineOn(db, 'lb', [def]);
      const same = [];
      for (let i = 0; i < 5; i++)
        same.push(await a.submit(def.type, {}, { accountId: 'acc', lockKey: 'vm:one' }));
      const other = await a.submit(def.type, {}, { accountId: 'acc', lockKey: 'vm:two' });
      a.start();
      b.start();
      try {
        for (const j of [...same, other]) assert.equal((await a.wait(j.id, 20_000)).state, 'Succeeded');
        const ids = new Set(same.map((j) => j.id));
        const ours = log.filter((e) => ids.has(e.job));
        for (let i = 0; i < ours.length; i += 2) {
          assert.equal(ours[i]?.at, 'start');
          assert.equal(ours[i + 1]?.at, 'end', 'no other job of the key started before this one ended');
          assert.equal(ours[i]?.job, ours[i + 1]?.job);
        }
        assert.deepEqual(
          ours.filter((e) => e.at === 'start').map((e) => e.job),
          same.map((j) => j.id),
          'submit order',
        );
        const otherStart = log.findIndex((e) => e.job === other.id);
        const lastSameEnd = log.map((e) => e.job).lastIndexOf(same[4]?.id ?? '');
        assert.ok(
          otherStart < lastSameEnd,
          'a job on another key did not wait for the whole queue of vm:one',
        );
        assert.equal((await db.query('SELECT 1 FROM job_locks')).length, 0, 'every lock was released');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
}
