import type { Host, Volume } from '@strata/core';
import type { StepContext } from '../jobs/index.js';
import { hostRef, storageContext, type OrchestrationDeps } from './deps.js';
import { toDiskSource } from './disk-source.js';
import { secretUuid } from './host-disks.js';

/**
 * Removes from a host the libvirt secrets that belonged to these volumes alone (a CHAP secret
 * named for the volume), before the volumes go. Shared ones (a host's cephx key) stay. Never
 * fails the caller: a secret left behind opens nothing once its volume is gone.
 */
export async function forgetVolumeSecrets(
  deps: OrchestrationDeps,
  ctx: StepContext,
  volumes: readonly Volume[],
  host: Host,
): Promise<number> {
  let removed = 0;
  for (const v of volumes) {
    try {
      const driver = await deps.drivers.forPool(v.poolId);
      const info = await driver.connectionInfo(storageContext(ctx), { volumeId: v.id, host: hostRef(host) });
      const { secret } = toDiskSource(info, secretUuid);
      if (!secret || !secret.usage.includes(v.id)) continue;
      await deps.agent.send(
        host.id,
        'secret.remove',
        { uuid: secretUuid(secret.usage) },
        { signal: ctx.signal },
      );
      removed++;
    } catch (e) {
      ctx.log.warn({ err: e, volumeId: v.id, hostId: host.id }, 'could not remove the secret of a volume');
    }
  }
  return removed;
}
