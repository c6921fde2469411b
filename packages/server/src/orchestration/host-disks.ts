import { createHash } from 'node:crypto';
import { StrataError, type DiskSpec, type HostRef, type StorageContext, type Volume } from '@strata/core';
import type { AgentPort } from './agent-port.js';
import { toDiskSource, toIoTune } from './disk-source.js';
import type { PoolDrivers } from './pool-drivers.js';

/** A stable libvirt secret UUID for a usage name, so pushing the same secret twice is a no-op. */
export function secretUuid(usage: string): string {
  const h = createHash('sha256').update(`strata-secret:${usage}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Opens a volume for one host: grants the host access, asks the driver how to connect, hands the
 * host any secret it needs, and answers the disk as the agent attaches it (with the QoS the
 * backend does not enforce as `<iotune>`).
 */
export async function diskSpecFor(
  deps: { readonly agent: AgentPort; readonly drivers: PoolDrivers },
  ctx: StorageContext,
  volume: Volume,
  host: HostRef,
): Promise<DiskSpec> {
  if (!volume.deviceName)
    throw new StrataError('INTERNAL', { reason: `volume ${volume.id} has no device slot` });
  const driver = await deps.drivers.forPool(volume.poolId);
  await driver.grantAccess(ctx, { volumeId: volume.id, host });
  const info = await driver.connectionInfo(ctx, { volumeId: volume.id, host });
  const { source: given, secret } = toDiskSource(info, secretUuid);
  // A qcow2 volume's active layer moves as the hypervisor takes snapshots: the database knows it.
  const source = given.kind === 'file' && volume.backendRef ? { ...given, path: volume.backendRef } : given;
  if (secret) {
    await deps.agent.send(host.id, 'secret.set', {
      uuid: secretUuid(secret.usage),
      usage: secret.usage,
      type: secret.type,
      value: secret.value,
    });
  }
  const iotune = toIoTune(info.frontendQos);
  return { volumeId: volume.id, target: volume.deviceName, source, ...(iotune && { iotune }) };
}
