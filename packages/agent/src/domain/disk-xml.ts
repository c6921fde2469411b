import { escapeXml, StrataError } from '@strata/core';
import type { AgentDiskSpec, IoTune } from '../types.js';

const x = escapeXml;

/**
 * Disks on remote storage (iSCSI, RBD, a host-side iSCSI block device): a failed read or write
 * pauses the guest instead of reaching it as EIO (a guest filesystem would go read-only), and the
 * agent resumes it once the storage answers again (guest/io-error-resume.ts).
 */
const STOP_ON_ERROR = ` error_policy='stop' rerror_policy='stop'`;

/** Splits "host:port" (port defaulting) for a network disk's <host>. */
export function hostPort(address: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address);
  if (!m?.[1])
    throw new StrataError('INVALID_ARGUMENT', { field: 'portal', reason: `not host[:port]: ${address}` });
  return { host: m[1], port: m[2] !== undefined ? Number(m[2]) : defaultPort };
}

export function iotuneXml(t: IoTune | undefined): string {
  if (!t) return '';
  const parts = [`<total_iops_sec>${t.totalIopsSec}</total_iops_sec>`];
  if (t.totalBytesSec !== undefined) parts.push(`<total_bytes_sec>${t.totalBytesSec}</total_bytes_sec>`);
  if (t.totalIopsSecMax !== undefined)
    parts.push(`<total_iops_sec_max>${t.totalIopsSecMax}</total_iops_sec_max>`);
  if (t.totalIopsSecMaxLength !== undefined)
    parts.push(`<total_iops_sec_max_length>${t.totalIopsSecMaxLength}</total_iops_sec_max_length>`);
  return `<iotune>${parts.join('')}</iotune>`;
}

function validTarget(target: string): string {
  if (!/^vd[a-z]{1,2}$/.test(target))
    throw new StrataError('INVALID_ARGUMENT', { field: 'target', reason: `must be vd[a-z]: ${target}` });
  return target;
}

/**
 * The volume id becomes the disk serial, which libvirt limits to letters, digits and `_ .+-`
 * (and the guest sees the first 20 characters): ids are ours (UUIDs), names are not used here.
 */
function validSerial(volumeId: string): string {
  if (!/^[A-Za-z0-9_ .+-]{1,64}$/.test(volumeId)) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'volumeId',
      reason: 'a disk serial takes letters, digits and _ .+- only',
    });
  }
  return volumeId;
}

/**
 * One <disk> element from typed data. Every user string goes through escapeXml; the volume id is
 * the disk's serial. Network disks carry their initiator name and secrets by reference only.
 */
export function diskXml(disk: AgentDiskSpec): string {
  const s = disk.source;
  const tail =
    `<target dev='${validTarget(disk.target)}' bus='virtio'/><serial>${x(validSerial(disk.volumeId))}</serial>` +
    (disk.readonly === true ? '<readonly/>' : '') +
    iotuneXml(disk.iotune);
  switch (s.kind) {
    case 'file':
      return (
        `<disk type='file' device='disk'><driver name='qemu' type='${s.format}' cache='none' discard='unmap'/>` +
        `<source file='${x(s.path)}'/>${tail}</disk>`
      );
    case 'block':
      return (
        `<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none' io='native'${STOP_ON_ERROR}/>` +
        `<source dev='${x(s.path)}'/>${tail}</disk>`
      );
    case 'iscsi': {
      const { host, port } = hostPort(s.portal, 3260);
      const initiator =
        s.initiatorIqn !== undefined ? `<initiator><iqn name='${x(s.initiatorIqn)}'/></initiator>` : '';
      const auth =
        s.chap !== undefined
          ? `<auth username='${x(s.chap.username)}'><secret type='iscsi' uuid='${x(s.chap.secretUuid)}'/></auth>`
          : '';
      return (
        `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'${STOP_ON_ERROR}/>` +
        `<source protocol='iscsi' name='${x(`${s.iqn}/${s.lun}`)}'><host name='${x(host)}' port='${port}'/>${auth}${initiator}</source>` +
        `${tail}</disk>`
      );
    }
    case 'rbd': {
      const hosts = s.monitors
        .map((m) => hostPort(m, 3300))
        .map((h) => `<host name='${x(h.host)}' port='${h.port}'/>`)
        .join('');
      const auth =
        s.auth !== undefined
          ? `<auth username='${x(s.auth.username)}'><secret type='ceph' uuid='${x(s.auth.secretUuid)}'/></auth>`
          : '';
      return (
        `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none' discard='unmap'${STOP_ON_ERROR}/>` +
        `<source protocol='rbd' name='${x(`${s.pool}/${s.image}`)}'>${hosts}${auth}</source>${tail}</disk>`
      );
    }
    case 'iscsi-host':
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'source',
        reason: 'iscsi-host disks are logged in first and attached as block devices',
      });
  }
}
