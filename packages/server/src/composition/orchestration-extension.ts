import type { StrategyCandidate } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';
import { builtInDriverFactories } from '../orchestration/driver-factories.js';
import { PoolDrivers, type PoolDriverFactory } from '../orchestration/pool-drivers.js';
import { registerOrchestration } from '../orchestration/register.js';
import type { ServerExtension } from '../server.js';
import { builtInStrategies } from '../vmsnapshots/strategies.js';

export interface OrchestrationOptions {
  /** How commands reach host agents (the hub, normally). Resolved at start. */
  readonly agent: () => AgentPort;
  readonly factories?: Readonly<Record<string, PoolDriverFactory>>;
  readonly strategies?: readonly StrategyCandidate[];
  /**
   * Host-local state (transient overlays, memory snapshots): a path every host has, where QEMU may
   * write; default STRATA_HOST_STATE_DIR or /var/lib/strata/state.
   */
  readonly stateDir?: string;
}

/** Registers the multi-step operations (volumes, VMs, VM snapshots) on the server's job engine. */
export function orchestrationExtension(options: OrchestrationOptions): ServerExtension {
  return {
    name: 'orchestration',
    start(ctx) {
      if (!ctx.engine) return Promise.resolve();
      const drivers = new PoolDrivers(ctx.db, options.factories ?? builtInDriverFactories);
      registerOrchestration(
        ctx.engine,
        { db: ctx.db, events: ctx.services.events, agent: options.agent(), drivers, stateDir: options.stateDir ?? process.env['STRATA_HOST_STATE_DIR'] ?? '/var/lib/strata/state' },
        options.strategies ?? builtInStrategies,
      );
      return Promise.resolve({ close: () => drivers.close() });
    },
  };
}
