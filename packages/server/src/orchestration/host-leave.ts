import type { Volume } from '@strata/core';
import type { StepContext } from '../jobs/index.js';
import { hostRef, loadHost, storageContext, vmVolumes, type OrchestrationDeps } from './deps.js';

/** Revokes a host's access to every volume of the VM (what it no longer needs). */
export async function revokeAll(
  deps: OrchestrationDeps,
  ctx: StepContext,
  volumes: readonly Volume[],
  hostId: string,
): Promise<void> {
  const host = hostRef(await loadHost(deps.db, hostId));
  const sctx = storageContext(ctx);
  // one backend call each, side by side: a migration waits for the slowest, not for their sum
  await Promise.all(
    volumes.map(async (v) =>
      (await deps.drivers.forPool(v.poolId)).revokeAccess(sctx, { volumeId: v.id, host }),
    ),
  );
}

/**
 * A stopped VM that starts on another host leaves the one it ran on: its definition there goes
 * (a stale one refused the VM's next migration back, "already exists with uuid", and could be
 * started by hand beside the real one) and so do that host's grants on its disks. Only when the
 * host answers and does not run the domain; a host that is away keeps both until it is fenced
 * or back (the orphan collector revokes grants nothing needs). Never fails the start.
 */
export async function leaveHost(
  deps: OrchestrationDeps,
  ctx: StepContext,
  vmId: string,
  hostId: string,
  name: string,
): Promise<void> {
  try {
    const listed = await deps.agent.send(hostId, 'vm.list', {}, { signal: ctx.signal });
    const stale = listed.domains.find((d) => d.name === name);
    if (stale && (stale.state === 'running' || stale.state === 'paused')) return;
    if (stale) await deps.agent.send(hostId, 'vm.destroy', { vm: name }, { signal: ctx.signal });
    await revokeAll(deps, ctx, await vmVolumes(deps.db, vmId), hostId);
    ctx.log.info({ hostId, vm: name }, 'the VM left a host: its definition and grants there are gone');
  } catch (e) {
    ctx.log.warn({ hostId, vm: name, err: e }, 'could not clear what the VM left on a host');
  }
}
