import type { StepContext } from '../../jobs/index.js';
import { storageContext, type OrchestrationDeps } from '../../orchestration/deps.js';
import type { StrategyContext } from './types.js';

/** What a job step hands the strategy it dispatches to. */
export function strategyContext(deps: OrchestrationDeps, ctx: StepContext): StrategyContext {
  return { deps, storage: storageContext(ctx), jobId: ctx.jobId };
}
