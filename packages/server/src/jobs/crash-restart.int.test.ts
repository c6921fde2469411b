import { createTestDatabase, dropTestDatabase } from '@strata/testing';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import { openDatabase } from '../db/open.js';
import { createJobEngine } from './engine.js';
import { createTestTables, testJobTypes } from './testing/test-jobs.js';
import { startWorker } from './testing/worker-process.js';
import type { Job } from './types.js';

async function until(done: () => boolean, output: () => string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out; server output:\n${output().slice(-3000)}`);
    await sleep(50);
  }
}

const count = async (db: Database, sql: string, params: unknown[]) =>
  Number((await db.query<{ n: unknown }>(sql, params))[0]?.n ?? 0);

/**
 * Kills a server process with SIGKILL while a three-step job is inside its second (external) step,
 * restarts a server on the same database and reads the outcome. PGlite is single-process, so there
 * the database is closed while the server runs and reopened by the test afterwards.
 */
async function crashAndRestart(
  url: string,
  type: string,
  exclusive: boolean,
): Promise<{ job: Job; db: Database }> {
  let db = await openDatabase(url);
  await createTestTables(db);
  const engine = createJobEngine({ db, serverId: 'test' });
  for (const def of testJobTypes(db, 'test')) engine.register(def);
  const submitted = await engine.submit(
    type,
    { sleepMs: 600_000 },
    { accountId: 'acc', lockKey: 'vm:crash' },
  );
  if (exclusive) await db.close();

  const first = await startWorker(url, 'first-life', 2, 1000);
  await until(() => first.output().includes(`slow-started ${submitted.id}`), first.output);
  await first.kill('SIGKILL');
  // the restarted server runs the interrupted step again, quickly (test-jobs.ts)

  const second = await startWorker(url, 'second-life', 2, 1000);
  try {
    await until(() => second.output().includes(`finished ${submitted.id}`), second.output);
  } finally {
    await second.kill('SIGTERM');
  }
  if (exclusive) db = await openDatabase(url);
  const reader = createJobEngine({ db, serverId: 'reader' });
  return { job: await reader.get(submitted.id), db };
}

const backends = [
  {
    name: 'PostgreSQL',
    exclusive: false,
    make: async () => {
      const url = await createTestDatabase('crash');
      return { url, drop: () => dropTestDatabase(url) };
    },
  },
  {
    name: 'PGlite data directory',
    exclusive: true,
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'strata-jobs-'));
      return { url: dir, drop: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

for (const backend of backends) {
  void describe(`a server killed with SIGKILL mid-job and restarted (${backend.name})`, () => {
    void test('finishes the job: done steps are not repeated, the interrupted step runs again', async () => {
      const { url, drop } = await backend.make();
      try {
        const { job, db } = await crashAndRestart(url, 'test.three', backend.exclusive);
        try {
          assert.equal(job.state, 'Succeeded');
          assert.ok(job.epoch >= 2, 'the restarted server took the job over');
          const runs = (step: string) =>
            count(db, 'SELECT n AS n FROM test_step_runs WHERE job_id = $1 AND step = $2', [job.id, step]);
          assert.equal(await runs('first'), 1, 'the step done before the crash did not run again');
          assert.equal(await runs('last'), 1);
          assert.equal(
            await count(db, `SELECT count(*) AS n FROM test_attempts WHERE job_id = $1 AND step = 'slow'`, [
              job.id,
            ]),
            2,
          );
          assert.equal(
            await count(
              db,
              `SELECT count(*) AS n FROM test_done WHERE job_id = $1 AND server = 'second-life'`,
              [job.id],
            ),
            1,
          );
          assert.equal(
            await count(db, 'SELECT count(*) AS n FROM job_locks', []),
            0,
            'the per-VM lock was released',
          );
        } finally {
          await db.close();
        }
      } finally {
        await drop();
      }
    });

    void test('or compensates it when its definition says so: nothing is left half-done', async () => {
      const { url, drop } = await backend.make();
      try {
        const { job, db } = await crashAndRestart(url, 'test.three-compensating', backend.exclusive);
        try {
          assert.equal(job.state, 'Failed');
          assert.equal(job.error?.code, 'JOB_INTERRUPTED');
          const runs = (step: string) =>
            count(db, 'SELECT n AS n FROM test_step_runs WHERE job_id = $1 AND step = $2', [job.id, step]);
          assert.equal(await runs('first'), 1);
          assert.equal(await runs('undo-first'), 1, 'the completed step was undone once');
          assert.equal(await runs('last'), 0, 'the step after the crash never ran');
          assert.equal(
            await count(
              db,
              `SELECT count(*) AS n FROM test_attempts WHERE job_id = $1 AND step = 'undo-slow-unfinished'`,
              [job.id],
            ),
            1,
          );
          assert.equal(
            await count(db, `SELECT count(*) AS n FROM test_attempts WHERE job_id = $1 AND step = 'slow'`, [
              job.id,
            ]),
            1,
            'the interrupted step was not re-run',
          );
        } finally {
          await db.close();
        }
      } finally {
        await drop();
      }
    });
  });
}
