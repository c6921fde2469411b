import { DEFAULT_VM_EXPUNGE_DELAY_S, startExpungeSweep } from '../orchestration/expunge-sweep.js';
import { startScheduler } from '../schedules/scheduler.js';
import { QUIESCE_MODES, type QuiesceMode } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';
import { reconnectGraceMs, waitingForReconnect } from '../orchestration/agent-reconnect.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { PoolDrivers, type PoolDriverFactory } from '../orchestration/pool-drivers.js';
import { remoteDriverTypes, serverDriverFactories } from '../orchestration/remote-drivers.js';
import { registerOrchestration } from '../orchestration/register.js';
import { snapshotUsageRoutes } from '../orchestration/snapshot-usage-routes.js';
import { actorOf } from '../api/hooks.js';
import { spec } from '../api/route-kit.js';
import { idParams, query, str } from '../api/schemas.js';
import type { ServerContext, ServerExtension } from '../server.js';
import { maxChainDepth } from '../vmsnapshots/chain-depth.js';
import { explainForVm } from '../vmsnapshots/explain.js';
import { holdDeadlineMs } from '../orchestration/hold/index.js';
import { snapshotStrategies, type SnapshotStrategies } from '../vmsnapshots/strategy/index.js';

/** Key of the orchestration's dependencies in ServerContext.shared, once it started. */
export const ORCHESTRATION_DEPS = 'orchestration.deps';

export interface OrchestrationOptions {
  /** How commands reach host agents (the hub, normally). Resolved at start. */
  readonly agent: () => AgentPort;
  /** In-process drivers by type (tests: fakes); default the built-in rbd factory. */
  readonly factories?: Readonly<Record<string, PoolDriverFactory>>;
  /** The VM-snapshot strategies (default the built-ins; see docs/vm-snapshots.md, writing a strategy). */
  readonly strategies?: SnapshotStrategies;
  /**
   * Host-local state (transient overlays, memory snapshots): a path every host has, where QEMU may
   * write; default STRATA_HOST_STATE_DIR or /var/lib/strata/state.
   */
  readonly stateDir?: string;
}

/**
 * Registers the multi-step operations (volumes, VMs, VM snapshots) on the server's job engine,
 * and the route that explains VM-snapshot strategy selection.
 */
export function orchestrationExtension(options: OrchestrationOptions): ServerExtension {
  // A bad STRATA_MAX_CHAIN_DEPTH or STRATA_HOLD_DEADLINE_MS refuses the start with its coded
  // error, rather than failing the first snapshot hours later.
  maxChainDepth();
  holdDeadlineMs();
  const remote = remoteDriverTypes();
  let pools: PoolDrivers | null = null;
  const driversFor = (ctx: ServerContext): PoolDrivers =>
    (pools ??= new PoolDrivers(
      ctx.db,
      serverDriverFactories(
        remote,
        ctx.db,
        () => waitingForReconnect(options.agent(), reconnectGraceMs()),
        options.factories,
      ),
      ctx.services.secrets.box,
    ));
  const strategies = options.strategies ?? snapshotStrategies();
  return {
    name: 'orchestration',
    routes(app, ctx) {
      snapshotUsageRoutes(app, () => ({ db: ctx.db, services: ctx.services, drivers: driversFor(ctx) }));
      app.get<{
        Params: { id: string };
        Querystring: {
          operation?: 'take' | 'revert' | 'delete';
          quiesce?: QuiesceMode;
          memory?: boolean;
          takenBy?: string;
        };
      }>(
        '/v1/vms/:id/snapshot-strategies',
        {
          schema: spec(
            'vm-snapshots',
            "Explain VM-snapshot strategy selection: every strategy's priority and reason for this VM",
            {
              params: idParams,
              querystring: query({
                operation: { type: 'string', enum: ['take', 'revert', 'delete'] },
                quiesce: { type: 'string', enum: [...QUIESCE_MODES] },
                memory: { type: 'boolean' },
                takenBy: str,
              }),
              response: { 200: { type: 'object', additionalProperties: true } },
            },
          ),
        },
        async (req) => {
          await ctx.services.vms.get(actorOf(req), req.params.id);
          return explainForVm({ db: ctx.db, drivers: driversFor(ctx) }, strategies, {
            vmId: req.params.id,
            operation: req.query.operation ?? 'take',
            quiesce: req.query.quiesce ?? 'auto',
            memory: req.query.memory ?? false,
            ...(req.query.takenBy && { takenBy: req.query.takenBy }),
          });
        },
      );
    },
    start(ctx) {
      if (!ctx.engine) return Promise.resolve();
      const drivers = driversFor(ctx);
      const deps: OrchestrationDeps = {
        db: ctx.db,
        events: ctx.services.events,
        // Jobs taken back after a restart run before the agents reconnect: they wait for them.
        agent: waitingForReconnect(options.agent(), reconnectGraceMs()),
        drivers,
        stateDir: options.stateDir ?? process.env['STRATA_HOST_STATE_DIR'] ?? '/var/lib/strata/state',
      };
      // Shared with the extensions that work on what orchestration made (the orphan collector).
      ctx.shared.set(ORCHESTRATION_DEPS, deps);
      registerOrchestration(ctx.engine, deps, strategies);
      const sweep = ctx.config.jobs
        ? startExpungeSweep(
            ctx.db,
            ctx.engine,
            ctx.config.vmExpungeDelaySeconds ?? DEFAULT_VM_EXPUNGE_DELAY_S,
            ctx.logger,
          )
        : null;
      // Every server that runs jobs runs the schedules too: claims make each run happen once.
      const scheduler = ctx.config.jobs ? startScheduler(ctx.db, ctx.services.operations, ctx.logger) : null;
      return Promise.resolve({
        close: async () => {
          await scheduler?.close();
          await sweep?.close();
          await drivers.close();
        },
      });
    },
  };
}
