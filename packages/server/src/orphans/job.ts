import type { JobDefinition } from '../jobs/index.js';
import { storageContext, type OrchestrationDeps } from '../orchestration/deps.js';
import { collectOrphans } from './collector.js';
import { JOB_TYPES } from '../services/job-types.js';

export const ORPHANS_COLLECT = JOB_TYPES.orphansCollect;
/** One collection at a time. */
export const ORPHANS_LOCK = 'orphans';

/** Removes every orphan the collector finds, as one job; its result lists what went and what failed. */
export function orphansCollectJob(deps: () => OrchestrationDeps): JobDefinition<Record<string, never>> {
  return {
    type: ORPHANS_COLLECT,
    steps: [
      {
        // Idempotent: a re-run after a crash scans again and removes what is still there.
        name: 'collect',
        run: (ctx) => collectOrphans(deps(), storageContext(ctx), ctx.jobId),
      },
    ],
  };
}
