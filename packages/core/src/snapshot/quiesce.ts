import type { Consistency } from '../domain/entities.js';
import type { QuiesceMode } from './request.js';

export type ResolvedQuiesce = Exclude<QuiesceMode, 'auto'>;

/**
 * `auto` picks the strongest hold the VM allows: the guest agent's fsfreeze when it answers,
 * else a vCPU pause; a stopped VM needs no hold at all.
 */
export function resolveQuiesce(
  mode: QuiesceMode,
  vm: { readonly state: string; readonly guestAgent: boolean },
): ResolvedQuiesce {
  if (vm.state !== 'Running') return 'none';
  if (mode !== 'auto') return mode;
  return vm.guestAgent ? 'guest' : 'pause';
}

/**
 * The consistency a cut reaches. A stopped VM's disks are at rest: filesystem-consistent.
 * `hypervisor` freezes the guest only for the atomic overlay when it has an agent.
 */
export function consistencyOf(
  mode: ResolvedQuiesce,
  vm: { readonly state: string; readonly guestAgent: boolean },
): Consistency {
  if (vm.state !== 'Running') return 'filesystem';
  switch (mode) {
    case 'guest':
      return 'filesystem';
    case 'hypervisor':
      return vm.guestAgent ? 'filesystem' : 'crash';
    case 'pause':
    case 'none':
      return 'crash';
  }
}
