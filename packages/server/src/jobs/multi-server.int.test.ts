import { createTestDatabase, dropTestDatabase } from '@strata/testing';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../db/open.js';
import { createJobEngine } from './engine.js';
import { createTestTables, testJobTypes } from './testing/test-jobs.js';
import { startWorker } from './testing/worker-process.js';

const JOBS = 500;

void test('two server processes on one PostgreSQL run 500 jobs exactly once; SIGKILL of one leaves every job finished by the other', async () => {
  const url = await createTestDatabase('multi');
  const db = await openDatabase(url);
  await createTestTables(db);
  // this process only submits: its engine is never started
  const submitter = createJobEngine({ db, serverId: 'submitter' });
  for (const def of testJobTypes(db, 'submitter')) submitter.register(def);
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++)
    ids.push((await submitter.submit('test.three', { sleepMs: 25 }, { accountId: 'acc' })).id);

  const a = await startWorker(url, 'server-a', 4, 1500);
  const b = await startWorker(url, 'server-b', 4, 1500);
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.query<{ n: unknown }>(sql, params))[0]?.n);
  try {
    // let both servers work, then kill one without warning while it holds jobs
    while ((await count('SELECT count(*) AS n FROM test_done')) < JOBS / 4) await sleep(50);
    await a.kill('SIGKILL');
    await sleep(300); // a commit A sent just before dying lands now; its lease (1.5 s) has not run out yet
    const heldByA = await db.query<{ id: string; epoch: number }>(
      `SELECT id, epoch FROM jobs WHERE owner = 'server-a' AND state IN ('Running','Compensating')`,
    );
    const doneByABeforeKill = await count(`SELECT count(*) AS n FROM test_done WHERE server = 'server-a'`);
    assert.ok(doneByABeforeKill > 0, 'server A had done work before it was killed');

    const deadline = Date.now() + 150_000;
    while ((await count(`SELECT count(*) AS n FROM jobs WHERE state IN ('Succeeded','Failed')`)) < JOBS) {
      assert.ok(Date.now() < deadline, `not every job finished: ${b.output().slice(-2000)}`);
      await sleep(200);
    }
    assert.equal(
      await count(`SELECT count(*) AS n FROM jobs WHERE state = 'Succeeded'`),
      JOBS,
      'every job succeeded',
    );
    // exactly once: each transactional step's counter is 1 for every job, and one server finished each job
    assert.equal(
      await count(`SELECT count(*) AS n FROM test_step_runs WHERE step = 'first' AND n = 1`),
      JOBS,
    );
    assert.equal(
      await count(`SELECT count(*) AS n FROM test_step_runs WHERE n <> 1`),
      0,
      'no step ran twice',
    );
    assert.equal(await count(`SELECT count(*) AS n FROM test_step_runs WHERE step = 'last' AND n = 1`), JOBS);
    assert.equal(await count('SELECT count(*) AS n FROM test_done'), JOBS);
    // the jobs A held when it died were taken over by B (a higher epoch) and finished from their
    // journal (A may have committed some of their steps, even the last, before dying)
    assert.ok(heldByA.length > 0, 'A held jobs when it was killed');
    for (const held of heldByA) {
      const job = await submitter.get(held.id);
      assert.equal(job.state, 'Succeeded');
      assert.ok(job.epoch > held.epoch, `job ${held.id} was taken over`);
      const journal = await submitter.steps(held.id);
      assert.deepEqual(
        journal.map((r) => `${r.phase}:${r.name}:${r.status}`),
        ['run:first:done', 'run:slow:done', 'run:last:done'],
      );
    }
    assert.equal(
      await count(`SELECT count(*) AS n FROM test_done WHERE server = 'server-a'`),
      doneByABeforeKill,
      'A finished nothing after its death',
    );
    assert.ok((await count(`SELECT count(*) AS n FROM test_done WHERE server = 'server-b'`)) > JOBS / 2);
    assert.equal(await count('SELECT count(*) AS n FROM job_locks'), 0);
  } finally {
    await a.kill('SIGKILL');
    await b.kill('SIGTERM');
    await db.close();
    await dropTestDatabase(url);
  }
});
