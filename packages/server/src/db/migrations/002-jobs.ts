import type { Migration } from './migration.js';

/**
 * The durable-job journal (docs/jobs.md): one row per job with its lease (owner, epoch, expiry),
 * one row per step run or compensation, progress events, and the per-key locks that make jobs on
 * one resource run one at a time across servers.
 */
export const jobsSchema: Migration = {
  version: 2,
  name: 'jobs',
  statements: [
    `CREATE TABLE jobs (
      id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL UNIQUE, type TEXT NOT NULL, account_id TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('Queued','Running','Compensating','Succeeded','Failed')),
      input JSONB NOT NULL, result JSONB, error JSONB,
      lock_key TEXT, resource_type TEXT, resource_id TEXT,
      owner TEXT, epoch INTEGER NOT NULL DEFAULT 0, lease_expires_at TIMESTAMPTZ,
      progress_pct REAL NOT NULL DEFAULT 0, progress_message TEXT NOT NULL DEFAULT '',
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX jobs_queued ON jobs (seq) WHERE state = 'Queued'`,
    `CREATE INDEX jobs_active_lease ON jobs (lease_expires_at) WHERE state IN ('Running','Compensating')`,
    `CREATE INDEX jobs_lock_key ON jobs (lock_key, seq) WHERE lock_key IS NOT NULL AND state = 'Queued'`,
    `CREATE INDEX jobs_account_seq ON jobs (account_id, seq)`,
    `CREATE INDEX jobs_resource ON jobs (resource_type, resource_id)`,
    `CREATE TABLE job_steps (
      job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, phase TEXT NOT NULL CHECK (phase IN ('run','compensate')),
      idx INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('started','done','failed')),
      output JSONB, error JSONB, epoch INTEGER NOT NULL,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(), finished_at TIMESTAMPTZ,
      PRIMARY KEY (job_id, phase, idx))`,
    `CREATE TABLE job_progress (
      seq BIGSERIAL PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      pct REAL NOT NULL, message TEXT NOT NULL DEFAULT '', at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX job_progress_job ON job_progress (job_id, seq)`,
    `CREATE TABLE job_locks (
      lock_key TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      acquired_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  ],
};
