import { resolveQuiesce, type QuiesceMode, type Selection } from '@strata/core';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { diskFacts, loadVmDisks } from './facts.js';
import type { SnapshotStrategies } from './strategy/index.js';

export interface ExplainRequest {
  readonly vmId: string;
  readonly operation: 'take' | 'revert' | 'delete';
  readonly quiesce: QuiesceMode;
  readonly memory: boolean;
  /** For revert and delete: the strategy that took the snapshot. */
  readonly takenBy?: string;
}

/** Every strategy's answer and reason for one VM and request, as selection would see it now. */
export async function explainForVm(
  deps: Pick<OrchestrationDeps, 'db' | 'drivers'>,
  strategies: SnapshotStrategies,
  req: ExplainRequest,
): Promise<Selection & { readonly quiesce: string; readonly disks: ReturnType<typeof diskFacts> }> {
  const disks = await loadVmDisks(deps as OrchestrationDeps, req.vmId);
  const running = disks.vm.state === 'Running';
  const quiesce = resolveQuiesce(req.quiesce, { state: disks.vm.state, guestAgent: running });
  const facts = diskFacts(disks);
  const selection = strategies.explain({
    operation: req.operation,
    vm: { id: disks.vm.id, state: disks.vm.state, guestAgent: running },
    disks: facts,
    type: req.memory ? 'DiskAndMemory' : 'Disk',
    quiesce,
    ...(req.takenBy && { takenBy: req.takenBy }),
  });
  return { ...selection, quiesce, disks: facts };
}
