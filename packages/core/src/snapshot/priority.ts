/**
 * How strongly a strategy claims a request (CloudStack's StrategyPriority). The highest wins;
 * CANT_HANDLE never does.
 */
export const PRIORITIES = ['CANT_HANDLE', 'DEFAULT', 'HYPERVISOR', 'PLUGIN', 'HIGHEST'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function rank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

/** A strategy's answer to `canHandle`: always with a reason a person can read. */
export interface Verdict {
  readonly priority: Priority;
  readonly reason: string;
}

export const cantHandle = (reason: string): Verdict => ({ priority: 'CANT_HANDLE', reason });
