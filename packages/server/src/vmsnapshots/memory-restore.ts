import { StrataError, type DiskSpec } from '@strata/core';
import type { StepContext } from '../jobs/index.js';
import {
  hostRef,
  loadHost,
  loadVm,
  pickHost,
  storageContext,
  vmVolumes,
  type OrchestrationDeps,
} from '../orchestration/deps.js';
import { diskSpecFor } from '../orchestration/host-disks.js';
import { domainName } from '../orchestration/naming.js';
import { memoryAgentHost, memoryLocationOf, memoryUnreachableFrom } from './memory-store.js';
import type { SnapshotRecord } from './shared.js';

/** Whether a revert brings the VM back from the snapshot's saved memory, and why not when it cannot. */
export interface MemoryRestore {
  readonly path: string | null;
  /** The host that restores it: the VM's own (absent in older plans: the VM's host then). */
  readonly hostId?: string;
  /** Why the memory is not restored (absent when it is). */
  readonly reason?: string;
}

/**
 * A DiskAndMemory snapshot is restored from its memory file when the VM still has exactly the
 * disks the snapshot covers: the saved machine state names its devices, so a VM whose disks were
 * attached or detached since is booted from the reverted disks instead (the reason is recorded).
 * The VM's host (after a migration, the new one) must see the file: in the snapshot store it
 * mounts, or in its own state directory for a state saved there. Otherwise the revert is refused
 * before anything is stopped (MEMORY_STATE_UNREACHABLE).
 */
export async function memoryRestoreOf(deps: OrchestrationDeps, s: SnapshotRecord): Promise<MemoryRestore> {
  const loc = memoryLocationOf(s.plan);
  const path = loc?.path ?? null;
  if (s.type !== 'DiskAndMemory' || !loc || !path) return { path: null };
  const now = (await vmVolumes(deps.db, s.vmId)).map((v) => v.id).sort();
  const then = s.parts.map((p) => p.volumeId).sort();
  if (now.join(',') !== then.join(',')) {
    return {
      path: null,
      reason: `the VM's disks changed since the snapshot (${then.length} then, ${now.length} now): booted from the reverted disks`,
    };
  }
  const vm = await loadVm(deps.db, s.vmId);
  // A VM with no host recorded is restored on one that sees its memory.
  const hostId = vm.hostId ?? (await memoryAgentHost(deps.db, loc, { kvm: true }));
  const refuse = (host: string, reason: string) =>
    new StrataError('MEMORY_STATE_UNREACHABLE', { snapshot: s.id, host, reason });
  if (!hostId) throw refuse('-', 'no Up host sees the memory state');
  const why = await memoryUnreachableFrom(deps.db, loc, hostId);
  if (why) throw refuse(hostId, why);
  return { path, hostId };
}

/**
 * Runs the stopped VM from the memory file: every volume is opened for the host as for a start
 * (grants, secrets), then the agent restores the saved state with the qcow2 disks on their new
 * active layers and the network disks as this host opens them (its initiator name, its secrets).
 * The guest resumes where the snapshot was taken, without a reboot.
 */
export async function restoreOnHost(
  deps: OrchestrationDeps,
  ctx: StepContext,
  vmId: string,
  memoryPath: string,
  files: ReadonlyArray<{ readonly volumeId: string; readonly path: string }>,
  hostId?: string,
): Promise<{ hostId: string }> {
  const vm = await loadVm(deps.db, vmId);
  const host = hostId ? await loadHost(deps.db, hostId) : await pickHost(deps.db, vm);
  const sctx = storageContext(ctx);
  const specs: DiskSpec[] = [];
  for (const v of await vmVolumes(deps.db, vm.id))
    specs.push(await diskSpecFor(deps, sctx, v, hostRef(host)));
  // The saved state names the network disks as the host that took it opened them: this one may differ.
  const disks = specs.filter((d) => d.source.kind !== 'file');
  // The revert stopped the VM before: a domain running now was restored by an earlier attempt of this step.
  const listed = await deps.agent.send(host.id, 'vm.list', {}, { signal: ctx.signal });
  if (listed.domains.some((d) => d.name === domainName(vm) && d.state === 'running'))
    return { hostId: host.id };
  await deps.agent.send(
    host.id,
    'vm.restore',
    { vm: domainName(vm), memoryPath, files, disks },
    { signal: ctx.signal, timeoutMs: 600_000 },
  );
  return { hostId: host.id };
}
