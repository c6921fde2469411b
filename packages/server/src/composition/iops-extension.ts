import { StrataError } from '@strata/core';
import { iopsRoutes } from '../iops/routes.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import type { ServerExtension } from '../server.js';
import { ORCHESTRATION_DEPS } from './orchestration-extension.js';

/** A volume's IOPS window, read from the agent of its VM's host (orchestration must start first). */
export function iopsExtension(): ServerExtension {
  return {
    name: 'iops',
    routes(app, ctx) {
      iopsRoutes(app, ctx, () => {
        const deps = ctx.shared.get(ORCHESTRATION_DEPS) as OrchestrationDeps | undefined;
        if (!deps)
          throw new StrataError('UNAVAILABLE', {
            what: 'IOPS samples',
            reason: 'orchestration is not running',
          });
        return deps;
      });
    },
  };
}
