import { createTestDatabase, dropTestDatabase } from '@strata/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Database } from '../../db/database.js';
import { openDatabase } from '../../db/open.js';
import { createJobEngine } from '../engine.js';
import type { JobDefinition, JobEngine } from '../types.js';
import { testJobTypes } from './test-jobs.js';

/** One suite, run against the embedded database and a real PostgreSQL server. */
export const backends: Array<{
  name: string;
  open: () => Promise<{ db: Database; cleanup: () => Promise<void> }>;
}> = [
  {
    name: 'PGlite',
    open: async () => {
      const db = await openDatabase('memory:');
      return { db, cleanup: () => db.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const url = await createTestDatabase('jobs');
      const db = await openDatabase(url);
      return { db, cleanup: async () => (await db.close(), await dropTestDatabase(url)) };
    },
  },
];

export const runs = async (db: Database, jobId: string, step: string) =>
  Number(
    (
      await db.query<{ n: number }>('SELECT n FROM test_step_runs WHERE job_id = $1 AND step = $2', [
        jobId,
        step,
      ])
    )[0]?.n ?? 0,
  );
export const BUMP_COUNT = `INSERT INTO test_step_runs (job_id, step, n) VALUES ($1, $2, 1)
  ON CONFLICT (job_id, step) DO UPDATE SET n = test_step_runs.n + 1 RETURNING n`;
export const attempts = async (db: Database, jobId: string, step: string) =>
  Number(
    (
      await db.query<{ n: unknown }>(
        'SELECT count(*) AS n FROM test_attempts WHERE job_id = $1 AND step = $2',
        [jobId, step],
      )
    )[0]?.n,
  );

const quiet = pino({ level: 'silent' });

export function engineOn(
  db: Database,
  serverId: string,
  extra: JobDefinition[] = [],
  pollMs = 20,
): JobEngine {
  const engine = createJobEngine({ db, serverId, leaseMs: 1000, pollMs, concurrency: 4, logger: quiet });
  for (const def of testJobTypes(db, serverId)) engine.register(def);
  for (const def of extra) engine.register(def);
  return engine;
}

/** Records each step's start and end so tests can check order and overlap. */
export function timeline(
  type: string,
  log: Array<{ job: string; at: 'start' | 'end' }>,
  ms = 40,
): JobDefinition {
  return {
    type,
    steps: [
      {
        name: 'work',
        run: async (ctx) => {
          log.push({ job: ctx.jobId, at: 'start' });
          await sleep(ms);
          log.push({ job: ctx.jobId, at: 'end' });
          return null;
        },
      },
    ],
  };
}
