import { isStrataError, StrataError } from '@strata/core';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import { fenced } from './fence.js';
import { registerJobMetrics } from './metrics.js';
import { createTestTables, testJobTypes } from './testing/test-jobs.js';
import { attempts, backends, BUMP_COUNT, engineOn, runs } from './testing/suite.js';
import type { JobDefinition } from './types.js';

/** The engine's leases and its API: fencing, submit/list/wait, cancel, retries, stop, metrics. */
for (const backend of backends) {
  void describe(`job engine control on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ db, cleanup } = await backend.open());
      await createTestTables(db);
    });
    after(async () => cleanup());

    void test('a server whose lease was taken over is fenced: its write and the step effects roll back', async () => {
      const engine = engineOn(db, 'fence');
      const job = await engine.submit('test.three', { sleepMs: 1 }, { accountId: 'acc' });
      await db.query(`UPDATE jobs SET state = 'Running', owner = 'old', epoch = 1 WHERE id = $1`, [job.id]);
      // another server took it over: epoch 2
      await db.query(`UPDATE jobs SET owner = 'new', epoch = 2 WHERE id = $1`, [job.id]);
      await assert.rejects(
        fenced(db, { jobId: job.id, owner: 'old', epoch: 1, leaseMs: 1000 }, async (tx) => {
          await tx.query(`INSERT INTO test_step_runs (job_id, step, n) VALUES ($1, 'fenced', 1)`, [job.id]);
        }),
        (e: unknown) => isStrataError(e, 'JOB_LEASE_LOST'),
      );
      assert.equal(await runs(db, job.id, 'fenced'), 0);
      assert.equal(
        await fenced(db, { jobId: job.id, owner: 'new', epoch: 2, leaseMs: 1000 }, () =>
          Promise.resolve('ok'),
        ),
        'ok',
      );
      await db.query(`UPDATE jobs SET state = 'Failed', owner = NULL WHERE id = $1`, [job.id]);
    });

    void test('a read-only step is journaled only when done; interrupted, it runs again rather than compensating', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let compensated = 0;
      const def: JobDefinition = {
        type: `read-only-${backend.name}`,
        onInterrupted: 'compensate',
        steps: [
          {
            name: 'read',
            readOnly: true,
            run: async (ctx) => {
              await db.query('INSERT INTO test_attempts (job_id, step, epoch) VALUES ($1, $2, $3)', [
                ctx.jobId,
                'read',
                ctx.epoch,
              ]);
              if (ctx.epoch === 1) await gate; // the first owner is stuck inside it when it loses the job
              return { readBy: ctx.epoch };
            },
            compensate: () => {
              compensated++;
              return Promise.resolve();
            },
          },
          {
            name: 'count',
            transactional: true,
            run: async (ctx) =>
              (await ctx.tx.query<{ n: number }>(BUMP_COUNT, [ctx.jobId, 'count']))[0]?.n ?? 0,
          },
        ],
      };
      const a = engineOn(db, 'reader', [def]);
      a.start();
      let jobId = '';
      try {
        const job = await a.submit(def.type, {}, { accountId: 'acc' });
        jobId = job.id;
        while ((await attempts(db, job.id, 'read')) === 0) await sleep(20);
        assert.deepEqual(await a.steps(job.id), [], 'no started record for a read-only step');
        await db.query(
          `UPDATE jobs SET owner = 'other', epoch = epoch + 1, lease_expires_at = now() + interval '1 hour' WHERE id = $1`,
          [job.id],
        );
        release();
        await sleep(300);
        assert.deepEqual(await a.steps(job.id), [], 'the fenced reader journaled nothing');
      } finally {
        release(); // never leave the reader stuck, also when an assertion failed
        await a.stop();
      }
      // the other owner dies in its turn, before journaling anything
      await db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [jobId]);
      const b = engineOn(db, 'rereader', [def]);
      b.start();
      try {
        const done = await b.wait(jobId, 20_000);
        assert.equal(done.state, 'Succeeded', 'an interrupted read-only step is not a reason to compensate');
        assert.equal(compensated, 0);
        assert.equal(await attempts(db, jobId, 'read'), 2);
        const journal = await b.steps(jobId);
        assert.deepEqual(
          journal.map((r) => [r.name, r.status, r.output]),
          [
            ['read', 'done', { readBy: 3 }],
            ['count', 'done', 1],
          ],
        );
        // the read's record went with the count's transaction, which also ended the job (now() is
        // the transaction's start: one instant for all three)
        assert.equal(journal[0]?.finishedAt, journal[1]?.finishedAt);
        assert.equal(done.finishedAt, journal[1]?.finishedAt);
      } finally {
        await b.stop();
      }
    });

    void test('submit, get, list, wait and registration report coded errors and paginate', async () => {
      const engine = engineOn(db, 'api');
      await assert.rejects(engine.submit('no.such', {}, { accountId: 'acc' }), (e: unknown) =>
        isStrataError(e, 'JOB_TYPE_UNKNOWN'),
      );
      await assert.rejects(engine.get('missing'), (e: unknown) => isStrataError(e, 'NOT_FOUND'));
      assert.throws(
        () => engine.register(testJobTypes(db, 'x')[0] as JobDefinition),
        (e: unknown) => isStrataError(e, 'JOB_DEFINITION_INVALID'),
      );
      assert.throws(
        () =>
          engine.register({
            type: 'dup',
            steps: [
              { name: 's', run: () => Promise.resolve(null) },
              { name: 's', run: () => Promise.resolve(null) },
            ],
          }),
        (e: unknown) => isStrataError(e, 'JOB_DEFINITION_INVALID'),
      );
      const account = `acct-${backend.name}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (
            await engine.submit(
              'test.three',
              { sleepMs: 1 },
              { accountId: account, resourceType: 'vm', resourceId: `vm-${i % 2}` },
            )
          ).id,
        );
      const first = await engine.list({ accountId: account }, { limit: 2 });
      assert.deepEqual(
        first.items.map((j) => j.id),
        [ids[4], ids[3]],
      );
      assert.ok(first.nextCursor);
      const second = await engine.list({ accountId: account }, { limit: 2, cursor: first.nextCursor });
      assert.deepEqual(
        second.items.map((j) => j.id),
        [ids[2], ids[1]],
      );
      const filtered = await engine.list({ accountId: account, resourceId: 'vm-1', state: 'Queued' });
      assert.deepEqual(
        filtered.items.map((j) => j.id),
        [ids[3], ids[1]],
      );
      assert.equal(filtered.nextCursor, null);
      const waited = await engine.wait(ids[0] ?? '', 150);
      assert.equal(waited.state, 'Queued', 'wait answers the current row when the timeout passes');
      // submitting inside a caller's transaction that rolls back leaves no job
      await assert.rejects(
        db.transaction(async (tx) => {
          await engine.submit('test.three', { sleepMs: 1 }, { accountId: account, tx, id: 'rolled-back' });
          throw new Error('caller aborts');
        }),
      );
      await assert.rejects(engine.get('rolled-back'), (e: unknown) => isStrataError(e, 'NOT_FOUND'));
      engine.start();
      for (const id of ids) assert.equal((await engine.wait(id, 20_000)).state, 'Succeeded');
      await engine.stop();
    });

    void test('a server that lost its lease mid-step is fenced: its late result is not journaled, the new owner finishes', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const def: JobDefinition = {
        type: `stubborn-${backend.name}`,
        steps: [
          {
            name: 'hold',
            run: async (ctx) => {
              await db.query('INSERT INTO test_attempts (job_id, step, epoch) VALUES ($1, $2, $3)', [
                ctx.jobId,
                'hold',
                ctx.epoch,
              ]);
              if (ctx.epoch === 1) await gate; // the first owner ignores its signal: a wedged server
              return { by: ctx.epoch };
            },
          },
          {
            name: 'count',
            transactional: true,
            run: async (ctx) =>
              (await ctx.tx.query<{ n: number }>(BUMP_COUNT, [ctx.jobId, 'count']))[0]?.n ?? 0,
          },
        ],
      };
      const a = engineOn(db, 'wedged', [def]);
      a.start();
      let jobId = '';
      try {
        const job = await a.submit(def.type, {}, { accountId: 'acc' });
        jobId = job.id;
        while ((await attempts(db, job.id, 'hold')) === 0) await sleep(20);
        // another server took the job over (as after A's lease ran out) while A is still inside the step
        await db.query(
          `UPDATE jobs SET owner = 'other', epoch = epoch + 1, lease_expires_at = now() + interval '1 hour' WHERE id = $1`,
          [job.id],
        );
        release();
        await sleep(300);
        const journal = await a.steps(job.id);
        assert.deepEqual(
          journal.map((r) => [r.name, r.status, r.epoch]),
          [['hold', 'started', 1]],
          'the fenced server wrote nothing after losing the job',
        );
      } finally {
        await a.stop();
      }
      // the other server dies too; a third one takes over and finishes
      await db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [jobId]);
      const b = engineOn(db, 'rescuer', [def]);
      b.start();
      try {
        const done = await b.wait(jobId, 20_000);
        assert.equal(done.state, 'Succeeded');
        assert.deepEqual(done.result, 1);
        assert.equal(done.epoch, 3);
        assert.deepEqual(
          (await b.steps(jobId)).map((r) => [r.name, r.status, r.epoch]),
          [
            ['hold', 'done', 3],
            ['count', 'done', 3],
          ],
        );
        assert.equal(await runs(db, jobId, 'count'), 1);
      } finally {
        await b.stop();
      }
    });

    void test('cancel ends a queued job at once; a running one compensates at its next step; a finished one answers ILLEGAL_TRANSITION', async () => {
      const engine = engineOn(db, 'cancel');
      const queued = await engine.submit('test.three', { sleepMs: 60_000 }, { accountId: 'acc' });
      const cancelled = await engine.cancel(queued.id);
      assert.equal(cancelled.state, 'Failed');
      assert.equal(cancelled.error?.code, 'JOB_CANCELLED');
      await assert.rejects(engine.cancel(queued.id), (e: unknown) => isStrataError(e, 'ILLEGAL_TRANSITION'));
      assert.equal(await runs(db, queued.id, 'first'), 0, 'a queued job ran nothing');
      const [event] = await db.query<{ type: string; description: string }>(
        'SELECT type, description FROM events WHERE job_id = $1',
        [queued.id],
      );
      assert.equal(event?.type, 'job.Failed');
      assert.match(
        event?.description ?? '',
        /^test\.three failed \(cancelled before it ran\): JOB_CANCELLED/,
      );
      const running = await engine.submit('test.three', { sleepMs: 1500 }, { accountId: 'acc' });
      engine.start();
      try {
        while ((await attempts(db, running.id, 'slow')) === 0) await sleep(20);
        const marked = await engine.cancel(running.id);
        assert.equal(marked.state, 'Running', 'a running job is only marked');
        assert.ok(marked.cancelRequestedAt, 'the mark is on the job');
        const ended = await engine.wait(running.id, 60_000);
        assert.equal(ended.state, 'Failed');
        assert.equal(ended.error?.code, 'JOB_CANCELLED');
        // the step in flight finished; the boundary after it undid both completed steps, newest first
        assert.equal(await runs(db, running.id, 'last'), 0, 'the step after the boundary never ran');
        assert.equal(await attempts(db, running.id, 'undo-slow'), 1);
        assert.equal(await runs(db, running.id, 'undo-first'), 1);
        const undo = (await engine.steps(running.id)).filter((r) => r.phase === 'compensate');
        assert.deepEqual(
          undo.map((r) => [r.name, r.status]),
          [
            ['slow', 'done'],
            ['first', 'done'],
          ],
        );
        await assert.rejects(engine.cancel(running.id), (e: unknown) =>
          isStrataError(e, 'ILLEGAL_TRANSITION'),
        );
        await assert.rejects(engine.cancel('missing'), (e: unknown) => isStrataError(e, 'NOT_FOUND'));
      } finally {
        await engine.stop();
      }
    });

    void test('a type that must run to its end refuses a cancel once running', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const def: JobDefinition = {
        type: `to-the-end-${backend.name}`,
        cancellableWhileRunning: false,
        steps: [
          { name: 'hold', run: async () => (await gate, null) },
          { name: 'end', run: () => Promise.resolve({ ended: true }) },
        ],
      };
      const engine = engineOn(db, 'to-the-end', [def]);
      engine.start();
      try {
        const job = await engine.submit(def.type, {}, { accountId: 'acc' });
        while ((await engine.get(job.id)).state !== 'Running') await sleep(20);
        await assert.rejects(engine.cancel(job.id), (e: unknown) => isStrataError(e, 'ILLEGAL_TRANSITION'));
        release();
        assert.equal((await engine.wait(job.id, 60_000)).state, 'Succeeded');
      } finally {
        release();
        await engine.stop();
      }
    });

    void test("cancel runs the type's onCancelled in its own transaction: both happen or neither", async () => {
      await db.query('CREATE TABLE IF NOT EXISTS cancel_undone (job_id TEXT PRIMARY KEY)');
      const undoing = (fail: boolean): JobDefinition => ({
        type: fail ? 'test.cancel-undo-fails' : 'test.cancel-undo',
        steps: [{ name: 'never', run: () => Promise.resolve(null) }],
        onCancelled: async (tx, _input, jobId) => {
          await tx.query('INSERT INTO cancel_undone (job_id) VALUES ($1)', [jobId]);
          if (fail) throw new StrataError('INTERNAL', { reason: 'undo failed' });
        },
      });
      const engine = engineOn(db, 'cancel-undo', [undoing(false), undoing(true)]);
      const undone = async (id: string) =>
        (await db.query('SELECT 1 FROM cancel_undone WHERE job_id = $1', [id])).length;
      const ok = await engine.submit('test.cancel-undo', {}, { accountId: 'acc' });
      assert.equal((await engine.cancel(ok.id)).state, 'Failed');
      assert.equal(await undone(ok.id), 1);
      const bad = await engine.submit('test.cancel-undo-fails', {}, { accountId: 'acc' });
      await assert.rejects(engine.cancel(bad.id), (e: unknown) => isStrataError(e, 'INTERNAL'));
      assert.equal((await engine.get(bad.id)).state, 'Queued', 'the cancel rolled back with its undo');
      assert.equal(await undone(bad.id), 0);
      await db.query(`UPDATE jobs SET state = 'Failed' WHERE id = $1`, [bad.id]);
    });

    void test('a step is retried on retryable errors as its policy allows, never on others', async () => {
      const tries = { flaky: 0, broken: 0 };
      const def = (name: 'flaky' | 'broken', code: 'UNAVAILABLE' | 'INVALID_ARGUMENT'): JobDefinition => ({
        type: `${name}-${backend.name}`,
        steps: [
          {
            name,
            retry: { attempts: 3, delayMs: 10 },
            run: () => {
              tries[name]++;
              if (tries[name] < 3)
                return Promise.reject(new StrataError(code, { what: 'agent', reason: 'x', field: 'f' }));
              return Promise.resolve(tries[name]);
            },
          },
        ],
      });
      const engine = engineOn(db, 'retry', [def('flaky', 'UNAVAILABLE'), def('broken', 'INVALID_ARGUMENT')]);
      engine.start();
      try {
        const flaky = await engine.submit(`flaky-${backend.name}`, {}, { accountId: 'acc' });
        const broken = await engine.submit(`broken-${backend.name}`, {}, { accountId: 'acc' });
        const f = await engine.wait(flaky.id, 20_000);
        const b = await engine.wait(broken.id, 20_000);
        assert.equal(f.state, 'Succeeded');
        assert.equal(f.result, 3);
        assert.equal(b.state, 'Failed');
        assert.equal(b.error?.code, 'INVALID_ARGUMENT');
        assert.deepEqual(tries, { flaky: 3, broken: 1 });
      } finally {
        await engine.stop();
      }
    });

    void test('stop does not wait past its grace for a step that ignores its signal', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let started = false;
      const def: JobDefinition = {
        type: `deaf-${backend.name}`,
        steps: [{ name: 'deaf', run: async () => ((started = true), await gate, null) }],
      };
      const engine = engineOn(db, 'deaf', [def]);
      engine.start();
      const job = await engine.submit(def.type, {}, { accountId: 'acc' });
      while (!started) await sleep(20);
      const t0 = Date.now();
      await engine.stop(200);
      assert.ok(Date.now() - t0 < 5_000, 'stop returned after its grace');
      release();
      await sleep(100);
      assert.equal(
        (await engine.get(job.id)).state,
        'Running',
        'the job stays for another server to take over',
      );
      await db.query(`UPDATE jobs SET state = 'Failed', owner = NULL WHERE id = $1`, [job.id]);
    });

    void test('metrics: jobs by state and job duration by type', async () => {
      const engine = engineOn(db, 'metrics');
      const registry = new Registry();
      const unsubscribe = registerJobMetrics(registry, engine);
      engine.start();
      try {
        const job = await engine.submit('test.three', { sleepMs: 1 }, { accountId: 'acc' });
        await engine.wait(job.id, 20_000);
        const text = await registry.metrics();
        const succeeded = (await engine.countByState()).Succeeded;
        assert.ok(succeeded >= 1);
        assert.match(text, new RegExp(`strata_jobs\\{state="Succeeded"\\} ${succeeded}\\b`));
        assert.match(text, /strata_jobs\{state="Queued"\} \d+/);
        assert.match(text, /strata_job_duration_seconds_count\{type="test.three",state="Succeeded"\} 1\b/);
      } finally {
        unsubscribe();
        await engine.stop();
      }
    });
  });
}
