import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../db/database.js';
import type { JobDefinition, Json } from '../types.js';

/**
 * Job types used by the engine's tests (in-process and in the worker processes). Every step writes
 * to test tables so tests can count exactly how often each one ran.
 */
export const TEST_TABLES = [
  `CREATE TABLE IF NOT EXISTS test_step_runs (job_id TEXT NOT NULL, step TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (job_id, step))`,
  `CREATE TABLE IF NOT EXISTS test_attempts (id BIGSERIAL PRIMARY KEY, job_id TEXT NOT NULL, step TEXT NOT NULL, epoch INTEGER NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS test_done (job_id TEXT PRIMARY KEY, server TEXT NOT NULL)`,
];

export async function createTestTables(db: Database): Promise<void> {
  for (const sql of TEST_TABLES) await db.query(sql);
}

const BUMP = `INSERT INTO test_step_runs (job_id, step, n) VALUES ($1, $2, 1)
  ON CONFLICT (job_id, step) DO UPDATE SET n = test_step_runs.n + 1 RETURNING n`;

export interface SlowInput {
  readonly [key: string]: Json;
  /** How long the external step sleeps in the job's first run (20 ms in a run that took it over). */
  readonly sleepMs: number;
}

/**
 * Three steps: a transactional counter, an external step that records each attempt and sleeps
 * (where a crash lands), and a transactional counter that also records which server finished.
 */
function threeSteps(
  db: Database,
  type: string,
  server: string,
  onInterrupted: 'resume' | 'compensate',
): JobDefinition<SlowInput> {
  return {
    type,
    onInterrupted,
    steps: [
      {
        name: 'first',
        transactional: true,
        run: async (ctx, _input) =>
          (await ctx.tx.query<{ n: number }>(BUMP, [ctx.jobId, 'first']))[0]?.n ?? 0,
        compensate: async (ctx) => {
          await ctx.tx.query(BUMP, [ctx.jobId, 'undo-first']);
        },
      },
      {
        name: 'slow',
        // external: its attempts are recorded outside the journal transaction, then it sleeps
        run: async (ctx, input, _prior) => {
          await db.query('INSERT INTO test_attempts (job_id, step, epoch) VALUES ($1, $2, $3)', [
            ctx.jobId,
            'slow',
            ctx.epoch,
          ]);
          ctx.progress(50, 'sleeping');
          ctx.log.info({ marker: `slow-started ${ctx.jobId}` }, 'slow step started');
          // only the first owner takes long: a server that took the job over finishes it quickly
          const ms = ctx.epoch === 1 ? input.sleepMs : 20;
          await sleep(ms, undefined, { signal: ctx.signal });
          return { slept: ms };
        },
        compensate: async (ctx, _input, output) => {
          await db.query('INSERT INTO test_attempts (job_id, step, epoch) VALUES ($1, $2, $3)', [
            ctx.jobId,
            output === undefined ? 'undo-slow-unfinished' : 'undo-slow',
            ctx.epoch,
          ]);
        },
      },
      {
        name: 'last',
        transactional: true,
        run: async (ctx) => {
          await ctx.tx.query(BUMP, [ctx.jobId, 'last']);
          await ctx.tx.query('INSERT INTO test_done (job_id, server) VALUES ($1, $2)', [ctx.jobId, server]);
          return { done: true };
        },
      },
    ],
  };
}

/** The external step writes through `db` outside any transaction, as a real side effect would. */
export function testJobTypes(db: Database, server: string): JobDefinition<SlowInput>[] {
  return [
    threeSteps(db, 'test.three', server, 'resume'),
    threeSteps(db, 'test.three-compensating', server, 'compensate'),
  ];
}
