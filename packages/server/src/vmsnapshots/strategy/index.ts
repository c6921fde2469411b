import { StrategyRegistry } from '@strata/core';
import { hypervisorStrategy } from './hypervisor.js';
import { storageOffloadStrategy } from './storage.js';
import type { SnapshotStrategies, SnapshotStrategy } from './types.js';

export { hypervisorStrategy } from './hypervisor.js';
export { storageOffloadStrategy } from './storage.js';
export { byParts } from './by-parts.js';
export { strategyContext } from './context.js';
export type * from './types.js';

/**
 * The server's strategies: the built-ins, and any the caller adds (one module each, see
 * docs/vm-snapshots.md). Snapshots recorded with no strategy (a create that failed before it
 * chose, or taken before strategies were recorded) revert and delete by their parts, as the
 * storage strategy does: whoever took each part undoes it.
 */
export function snapshotStrategies(...more: readonly SnapshotStrategy[]): SnapshotStrategies {
  const registry = new StrategyRegistry<SnapshotStrategy>(storageOffloadStrategy.name)
    .register(hypervisorStrategy)
    .register(storageOffloadStrategy);
  for (const s of more) registry.register(s);
  return registry;
}
