import { StrataError } from '@strata/core';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { orphansCollectJob } from '../orphans/job.js';
import { orphanRoutes } from '../orphans/routes.js';
import type { ServerContext, ServerExtension } from '../server.js';
import { ORCHESTRATION_DEPS } from './orchestration-extension.js';

/** The orphan collector's routes and job, over the orchestration's drivers and agents (it must start first). */
export function orphansExtension(): ServerExtension {
  const depsOf = (ctx: ServerContext) => (): OrchestrationDeps => {
    const deps = ctx.shared.get(ORCHESTRATION_DEPS) as OrchestrationDeps | undefined;
    if (!deps)
      throw new StrataError('UNAVAILABLE', {
        what: 'the orphan collector',
        reason: 'orchestration is not running',
      });
    return deps;
  };
  return {
    name: 'orphans',
    routes(app, ctx) {
      orphanRoutes(app, ctx, depsOf(ctx));
    },
    start(ctx) {
      ctx.engine.register(orphansCollectJob(depsOf(ctx)));
      return Promise.resolve();
    },
  };
}
