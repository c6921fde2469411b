import type { StepContext } from '../jobs/index.js';
import {
  hostRef,
  loadVm,
  pickHost,
  storageContext,
  vmVolumes,
  type OrchestrationDeps,
} from '../orchestration/deps.js';
import { diskSpecFor } from '../orchestration/host-disks.js';
import { domainName } from '../orchestration/naming.js';
import type { SnapshotRecord } from './shared.js';

/** Whether a revert brings the VM back from the snapshot's saved memory, and why not when it cannot. */
export interface MemoryRestore {
  readonly path: string | null;
  /** Why the memory is not restored (absent when it is). */
  readonly reason?: string;
}

/**
 * A DiskAndMemory snapshot is restored from its memory file when the VM still has exactly the
 * disks the snapshot covers: the saved machine state names its devices, so a VM whose disks were
 * attached or detached since is booted from the reverted disks instead (the reason is recorded).
 */
export async function memoryRestoreOf(deps: OrchestrationDeps, s: SnapshotRecord): Promise<MemoryRestore> {
  const path = s.plan?.memoryPath ?? null;
  if (s.type !== 'DiskAndMemory' || !path) return { path: null };
  const now = (await vmVolumes(deps.db, s.vmId)).map((v) => v.id).sort();
  const then = s.parts.map((p) => p.volumeId).sort();
  if (now.join(',') !== then.join(',')) {
    return {
      path: null,
      reason: `the VM's disks changed since the snapshot (${then.length} then, ${now.length} now): booted from the reverted disks`,
    };
  }
  return { path };
}

/**
 * Runs the stopped VM from the memory file: every volume is opened for the host as for a start
 * (grants, secrets), then the agent restores the saved state with the qcow2 disks on their new
 * active layers. The guest resumes where the snapshot was taken, without a reboot.
 */
export async function restoreOnHost(
  deps: OrchestrationDeps,
  ctx: StepContext,
  vmId: string,
  memoryPath: string,
  files: ReadonlyArray<{ readonly volumeId: string; readonly path: string }>,
): Promise<{ hostId: string }> {
  const vm = await loadVm(deps.db, vmId);
  const host = await pickHost(deps.db, vm);
  const sctx = storageContext(ctx);
  for (const v of await vmVolumes(deps.db, vm.id)) await diskSpecFor(deps, sctx, v, hostRef(host));
  // The revert stopped the VM before: a domain running now was restored by an earlier attempt of this step.
  const listed = await deps.agent.send(host.id, 'vm.list', {}, { signal: ctx.signal });
  if (listed.domains.some((d) => d.name === domainName(vm) && d.state === 'running'))
    return { hostId: host.id };
  await deps.agent.send(
    host.id,
    'vm.restore',
    { vm: domainName(vm), memoryPath, files },
    { signal: ctx.signal, timeoutMs: 600_000 },
  );
  return { hostId: host.id };
}
