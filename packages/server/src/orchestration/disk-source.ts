import { StrataError, type ConnectionInfo, type DiskSource, type IoTune, type Qos } from '@strata/core';

/** A libvirt secret the host must hold before it can open a disk (CHAP password, cephx key). */
export interface HostSecret {
  readonly usage: string;
  readonly type: 'iscsi' | 'ceph';
  readonly value: string;
}

/**
 * Turns a driver's connection details into the agent's disk source. Secrets travel separately:
 * the host stores them as libvirt secrets first, and the disk names the secret, never the value.
 */
export function toDiskSource(
  info: ConnectionInfo,
  secretUuid: (usage: string) => string,
): { readonly source: DiskSource; readonly secret: HostSecret | null } {
  const c = info.connection;
  switch (c.adaptor) {
    case 'file':
      return { source: { kind: 'file', path: c.path, format: c.format }, secret: null };
    case 'iscsi': {
      const chap = c.chap
        ? { username: c.chap.username, secretUuid: secretUuid(c.chap.secret.usage) }
        : undefined;
      return {
        source: {
          kind: 'iscsi',
          portal: c.portal,
          iqn: c.iqn,
          lun: c.lun,
          initiatorIqn: c.initiator,
          ...(chap && { chap }),
        },
        secret: c.chap ? { usage: c.chap.secret.usage, type: 'iscsi', value: c.chap.secret.value } : null,
      };
    }
    case 'rbd':
      return {
        source: {
          kind: 'rbd',
          pool: c.pool,
          image: c.image,
          monitors: c.monitors,
          auth: { username: c.user, secretUuid: secretUuid(c.secret.usage) },
        },
        secret: { usage: c.secret.usage, type: 'ceph', value: c.secret.value },
      };
  }
}

/** The QoS a backend does not enforce becomes QEMU's `<iotune>` (DESIGN.md section 5). */
export function toIoTune(qos: Qos | null): IoTune | undefined {
  if (!qos) return undefined;
  return {
    totalIopsSec: qos.maxIops,
    ...(qos.burstIops > qos.maxIops && {
      totalIopsSecMax: qos.burstIops,
      totalIopsSecMaxLength: Math.max(1, qos.burstSeconds),
    }),
    ...(qos.maxBytesPerSec !== undefined && { totalBytesSec: qos.maxBytesPerSec }),
  };
}

/** libvirt device names in slot order: vda is the root disk, data disks take the next free one. */
export function nextDeviceName(taken: ReadonlyArray<string | null>, vmId: string): string {
  const used = new Set(taken);
  for (let i = 0; i < 26; i++) {
    const name = `vd${String.fromCharCode(97 + i)}`;
    if (!used.has(name)) return name;
  }
  throw new StrataError('NO_FREE_DEVICE', { vm: vmId });
}
