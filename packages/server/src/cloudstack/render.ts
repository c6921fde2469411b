import type {
  DiskOffering,
  ServiceOffering,
  Host,
  StoragePool,
  VmSnapshot,
  VolumeSnapshot,
  Zone,
} from '@strata/core';
import type { TemplateSummary } from '../services/catalog.js';
import type { CsVm, CsVolume, JobView, Tagged } from './deps.js';
import type { CsObject } from './serialize.js';

// Entities → CloudStack response objects: lower-case field names, CloudStack's units and words.

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** CloudStack answers dates as `2024-01-31T12:00:00+0000`. */
export function csDate(iso: string | null): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** CloudStack's percentused: a string with two decimals; 0 of nothing is "0.00". */
export function percent(used: number, total: number): string {
  return total > 0 ? ((used / total) * 100).toFixed(2) : '0.00';
}

/** CloudStack's `tags` on a resource: always present (tools read an empty list as "no tags"). */
export function csTags(
  tags: ReadonlyArray<{ key: string; value: string }>,
  resourcetype: string,
  resourceid: string,
): CsObject[] {
  return tags.map((t) => ({ key: t.key, value: t.value, resourcetype, resourceid }));
}

/** vda → 0, vdb → 1, ...: CloudStack's deviceid. */
export function deviceId(deviceName: string | null): number | undefined {
  const m = deviceName ? /^[vsh]d([a-z])$/.exec(deviceName) : null;
  return m?.[1] ? m[1].charCodeAt(0) - 97 : undefined;
}

export function zone(z: Zone): CsObject {
  return {
    id: z.id,
    name: z.name,
    allocationstate: 'Enabled',
    networktype: 'Advanced',
    localstorageenabled: true,
    securitygroupsenabled: false,
    created: csDate(z.createdAt),
  };
}

export function host(h: Host): CsObject {
  return {
    id: h.id,
    name: h.name,
    state: HOST_STATE[h.state] ?? h.state,
    type: 'Routing',
    hypervisor: 'KVM',
    ipaddress: h.address,
    clusterid: h.clusterId,
    cpunumber: h.cpus,
    memorytotal: h.memoryBytes,
    hypervisorversion: h.qemuVersion,
    version: h.libvirtVersion,
    resourcestate: RESOURCE_STATE[h.state] ?? 'Enabled',
    iscsiinitiator: h.iscsiInitiator ?? undefined,
    storageadaptors: h.adaptors.join(','),
    lastpinged: csDate(h.lastSeenAt),
    created: csDate(h.createdAt),
  };
}

/** CloudStack's host status where Strata's differs: a fenced host is Down, one being fenced Alert. */
const HOST_STATE: Readonly<Record<string, string>> = { Fencing: 'Alert', Fenced: 'Down' };

/** CloudStack's resource states of a host, from Strata's host states. */
const RESOURCE_STATE: Readonly<Record<string, string>> = {
  PreparingMaintenance: 'PrepareForMaintenance',
  Maintenance: 'Maintenance',
};

/** The portal an iSCSI pool URL names (iscsi://portal/…); localhost for the others (a file path, a Ceph pool). */
function urlHost(url: string): string {
  try {
    const u = new URL(url);
    return (u.protocol === 'iscsi:' && u.hostname) || 'localhost';
  } catch {
    return 'localhost';
  }
}

const POOL_TYPE: Readonly<Record<string, string>> = { qcow2: 'Filesystem', tgt: 'Iscsi', rbd: 'RBD' };

export function storagePool(p: StoragePool): CsObject {
  return {
    id: p.id,
    name: p.name,
    zoneid: p.zoneId,
    clusterid: p.clusterId ?? undefined,
    state: p.state,
    provider: p.provider,
    type: POOL_TYPE[p.provider] ?? p.provider,
    scope: p.scope.toUpperCase(),
    managed: p.managed,
    hypervisor: 'KVM',
    disksizetotal: p.capacityBytes,
    capacitybytes: p.capacityBytes,
    capacityiops: p.capacityIops,
    // CloudStack's pools answer their server apart from the path; Strata keeps one URL.
    ipaddress: urlHost(p.url),
    path: p.url,
    tags: csStorageTags(p.storageTags),
    created: csDate(p.createdAt),
  };
}

export function diskOffering(o: DiskOffering): CsObject {
  return {
    id: o.id,
    name: o.name,
    displaytext: o.displayText ?? o.name,
    disksize: o.sizeBytes === null ? 0 : Math.round(o.sizeBytes / GiB),
    iscustomized: o.customSize,
    iscustomizediops: o.customIops,
    miniops: o.qos?.minIops,
    maxiops: o.qos?.maxIops,
    burstiops: o.qos?.burstIops,
    burstseconds: o.qos?.burstSeconds,
    hypervisorsnapshotreserve: o.hypervisorSnapshotReserve,
    storagetype: 'shared',
    provisioningtype: 'thin',
    tags: csStorageTags(o.storageTags),
    created: csDate(o.createdAt),
  };
}

/** CloudStack's storage tags: one comma-separated string (sorted), absent when there are none. */
function csStorageTags(tags: readonly string[] | undefined): string | undefined {
  return tags && tags.length > 0 ? tags.join(',') : undefined;
}

export function template(t: TemplateSummary): CsObject {
  return {
    id: t.id,
    name: t.name,
    displaytext: t.name,
    format: t.format.toUpperCase(),
    size: t.sizeBytes,
    hypervisor: 'KVM',
    isready: true,
    ispublic: true,
    isfeatured: true,
    templatetype: 'USER',
    // Strata does not track a template's guest OS: one OS type stands for all (listOsTypes).
    ostypeid: 'other-64',
    ostypename: 'Other (64-bit)',
    status: 'Download Complete',
    created: csDate(t.createdAt),
  };
}

export function serviceOffering(o: ServiceOffering): CsObject {
  return {
    id: o.id,
    name: o.name,
    displaytext: o.displayText ?? o.name,
    cpunumber: o.cpus,
    memory: Math.round(o.memoryBytes / MiB),
    storagetype: 'shared',
    provisioningtype: 'thin',
    issystem: false,
    iscustomized: false,
    offerha: false,
    limitcpuuse: false,
    isvolatile: false,
    created: csDate(o.createdAt),
  };
}

export function virtualMachine(v: CsVm): CsObject {
  return {
    id: v.id,
    name: v.name,
    displayname: v.displayName ?? v.name,
    state: v.state,
    hostid: v.hostId ?? undefined,
    templateid: v.templateId ?? undefined,
    cpunumber: v.cpus,
    memory: Math.round(v.memoryBytes / MiB),
    tags: csTags(v.tags ?? [], 'UserVm', v.id),
    serviceofferingid: v.serviceOffering?.id,
    serviceofferingname: v.serviceOffering?.name,
    hypervisor: 'KVM',
    accountid: v.accountId,
    vmsnapshotid: v.currentVmSnapshotId ?? undefined,
    created: csDate(v.createdAt),
  };
}

/** `path` (the backend's name or path) only for an operator, as CloudStack shows it to admins. */
export function volume(v: CsVolume, operator: boolean): CsObject {
  return {
    id: v.id,
    name: v.name,
    displayname: v.displayName ?? v.name,
    type: v.type === 'DATA' ? 'DATADISK' : 'ROOT',
    state: v.state,
    storageid: v.poolId,
    virtualmachineid: v.vmId ?? undefined,
    // CloudStack's tools read `attached` as "is attached" (Ansible's cs_volume does). A volume with
    // no attach event was made attached (a deployed VM's ROOT): attached when created.
    attached: v.vmId ? csDate(v.attachedAt ?? v.createdAt) : undefined,
    deviceid: deviceId(v.deviceName),
    size: v.sizeBytes,
    miniops: v.qos?.minIops,
    maxiops: v.qos?.maxIops,
    burstiops: v.qos?.burstIops,
    burstseconds: v.qos?.burstSeconds,
    diskofferingid: v.offeringId ?? undefined,
    path: operator ? (v.backendRef ?? undefined) : undefined,
    storagetype: 'shared',
    hypervisor: 'KVM',
    provisioningtype: 'thin',
    accountid: v.accountId,
    placement: v.placement,
    tags: csTags(v.tags ?? [], 'Volume', v.id),
    created: csDate(v.createdAt),
  };
}

const SNAPSHOT_STATE: Readonly<Record<string, string>> = {
  Ready: 'BackedUp',
  Deleting: 'Destroying',
  Deleted: 'Destroyed',
};

export function snapshot(s: Tagged<VolumeSnapshot>): CsObject {
  return {
    id: s.id,
    name: s.name,
    volumeid: s.volumeId,
    state: SNAPSHOT_STATE[s.state] ?? s.state,
    snapshottype: 'MANUAL',
    intervaltype: 'MANUAL',
    locationtype: 'PRIMARY',
    revertable: s.state === 'Ready',
    vmsnapshotid: s.vmSnapshotId ?? undefined,
    accountid: s.accountId,
    tags: csTags(s.tags ?? [], 'Snapshot', s.id),
    created: csDate(s.createdAt),
  };
}

export function vmSnapshot(s: Tagged<VmSnapshot>): CsObject {
  return {
    id: s.id,
    name: s.name,
    displayname: s.name,
    description: s.description,
    state: s.state,
    type: s.type,
    current: s.current,
    parent: s.parentId ?? undefined,
    virtualmachineid: s.vmId,
    hypervisor: 'KVM',
    accountid: s.accountId,
    strategy: s.strategy ?? undefined,
    consistency: s.consistency ?? undefined,
    freezems: s.freezeMs ?? undefined,
    cutspreadms: s.cutSpreadMs ?? undefined,
    tags: csTags(s.tags ?? [], 'VMSnapshot', s.id),
    created: csDate(s.createdAt),
  };
}

/** CloudStack's jobstatus: 0 pending, 1 succeeded, 2 failed. */
export function jobStatus(j: JobView): 0 | 1 | 2 {
  if (j.state === 'Succeeded') return 1;
  if (j.state === 'Failed') return 2;
  return 0;
}

/** The fields every async-job answer carries; `jobresult` is added by the caller. */
export function asyncJob(j: JobView, cmd: string): CsObject {
  const status = jobStatus(j);
  return {
    jobid: j.id,
    accountid: j.accountId,
    userid: j.userId ?? undefined,
    cmd,
    jobstatus: status,
    jobprocstatus: 0,
    jobresultcode: status === 2 ? 530 : 0,
    jobresulttype: 'object',
    jobinstancetype: j.resourceType,
    jobinstanceid: j.resourceId ?? undefined,
    progress: j.progress,
    created: csDate(j.createdAt),
    completed: csDate(j.finishedAt),
  };
}
