import { Gauge, Histogram, type Registry } from 'prom-client';
import type { JobEngine } from './types.js';

/**
 * Registers the job metrics on `registry`: `strata_jobs` (jobs by state, read from the database at
 * scrape time, so every server reports the shared truth) and `strata_job_duration_seconds` (by
 * type and final state, for the jobs this server finished). Returns a function that stops observing.
 */
export function registerJobMetrics(
  registry: Registry,
  engine: Pick<JobEngine, 'countByState' | 'onFinished'>,
): () => void {
  new Gauge({
    name: 'strata_jobs',
    help: 'Jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await engine.countByState();
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  const duration = new Histogram({
    name: 'strata_job_duration_seconds',
    help: 'Time from claim to end of the jobs this server finished',
    labelNames: ['type', 'state'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  return engine.onFinished((job, seconds) => duration.observe({ type: job.type, state: job.state }, seconds));
}
