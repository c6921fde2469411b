import { errorRegistry, StrataError, type Qos } from '@strata/core';
import type { Job } from '../jobs/types.js';
import type { Services } from '../services/index.js';
import { accountsPort, type AccountHooks } from './adapter-accounts.js';
import { actorOf, listOrGet } from './adapter-kit.js';
import { resourceLimitsPort } from './adapter-limits.js';
import {
  matches,
  serviceOfferingsPort,
  tagged,
  tagsPort,
  withOfferings,
  withPlacements,
  withTags,
} from './adapter-views.js';
import type { JobInstanceType, JobView, ListQuery, PartialServices, Started } from './deps.js';

function missing(what: string): never {
  throw new StrataError('UNAVAILABLE', { what, reason: 'the service layer has no such operation yet' });
}

const started = (a: { job: Job; resource: { id: string } }): Started => ({
  jobId: a.job.id,
  resourceId: a.resource.id,
});

const RESOURCE_TYPES: Readonly<Record<string, JobInstanceType>> = {
  vm: 'VirtualMachine',
  volume: 'Volume',
  'volume-snapshot': 'Snapshot',
  'vm-snapshot': 'VmSnapshot',
  'storage-pool': 'StoragePool',
  host: 'Host',
};

export function jobView(j: Job): JobView {
  const status = j.error ? (errorRegistry.get(j.error.code)?.status ?? 500) : 0;
  return {
    id: j.id,
    accountId: j.accountId,
    userId: null,
    kind: j.type,
    state: j.state,
    progress: j.progressPct,
    resourceType: (j.resourceType ? RESOURCE_TYPES[j.resourceType] : undefined) ?? 'None',
    resourceId: j.resourceId,
    error: j.error ? { code: j.error.code, message: j.error.message, status } : null,
    createdAt: j.createdAt,
    finishedAt: j.finishedAt,
  };
}

/** The service's QoS input needs min and max; partial CloudStack IOPS fill in as the offering would. */
function qosInput(
  q: Partial<Qos> | undefined,
): { minIops: number; maxIops: number; burstIops?: number; burstSeconds?: number } | undefined {
  if (!q || (q.minIops === undefined && q.maxIops === undefined)) return undefined;
  return {
    minIops: q.minIops ?? 0,
    maxIops: q.maxIops ?? q.minIops ?? 0,
    ...(q.burstIops !== undefined ? { burstIops: q.burstIops } : {}),
    ...(q.burstSeconds !== undefined ? { burstSeconds: q.burstSeconds } : {}),
  };
}

const f = (q: ListQuery, k: string): string | undefined => q.filter[k];

/**
 * Builds the CloudStack port from the server's one service layer. Only renaming happens here:
 * filters, pages and ids pass through; every rule (admission, states, locks) stays in the services.
 */
export function cloudStackServices(s: Services, hooks: AccountHooks = {}): PartialServices {
  const op = s.operations;
  return {
    accounts: accountsPort(s, hooks),
    zones: {
      list: (c, q) => listOrGet(s.zones, c, q, { name: f(q, 'name') }),
      get: (c, id) => s.zones.get(actorOf(c), id),
    },
    tags: tagsPort(s),
    snapshotPolicies: {
      create: (c, i) => s.snapshotSchedules.create(actorOf(c), i),
      list: (c, f) => s.snapshotSchedules.list(actorOf(c), f),
      update: (c, id, change) => s.snapshotSchedules.update(actorOf(c), id, change),
      delete: (c, ids) => s.snapshotSchedules.delete(actorOf(c), ids),
    },
    resourceLimits: resourceLimitsPort(s),
    clusters: {
      list: (c, q) => listOrGet(s.clusters, c, q, { zoneId: f(q, 'zoneId'), name: f(q, 'name') }),
      create: (c, i) => s.clusters.create(actorOf(c), i),
      remove: (c, id) => s.clusters.remove(actorOf(c), id),
    },
    hosts: {
      list: (c, q) =>
        listOrGet(s.hosts, c, q, { clusterId: f(q, 'clusterId'), state: f(q, 'state'), name: f(q, 'name') }),
      get: (c, id) => s.hosts.get(actorOf(c), id),
      prepareMaintenance: async (c, id) => started(await s.hosts.prepareMaintenance(actorOf(c), id)),
      cancelMaintenance: async (c, id) => ({
        jobId: null,
        resourceId: (await s.hosts.apply(actorOf(c), id, 'ExitMaintenance')).id,
      }),
    },
    pools: {
      list: (c, q) =>
        listOrGet({ get: (a, id) => s.pools.getFull(a, id), list: (a, g) => s.pools.listFull(a, g) }, c, q, {
          zoneId: f(q, 'zoneId'),
          clusterId: f(q, 'clusterId'),
          name: f(q, 'name'),
        }),
      get: (c, id) => s.pools.getFull(actorOf(c), id),
      create: (c, i) =>
        s.pools.create(actorOf(c), {
          ...i,
          clusterId: i.clusterId ?? null,
          capacityBytes: i.capacityBytes ?? 0,
          capacityIops: i.capacityIops ?? 0,
        }),
      setTags: (c, id, tags) => s.pools.setTags(actorOf(c), id, tags),
    },
    offerings: {
      list: (c, q) => listOrGet(s.offerings, c, q, { name: f(q, 'name') }),
      create: (c, i) => s.offerings.create(actorOf(c), { ...i, qos: qosInput(i.qos) ?? null }),
      update: (c, id, i) => s.offerings.update(actorOf(c), id, i),
    },
    serviceOfferings: serviceOfferingsPort(s),
    templates: {
      list: (c, q) => listOrGet(s.templates, c, q, { name: f(q, 'name') }),
      register: (c, i) => s.templates.create(actorOf(c), i),
      remove: (c, id) => s.templates.remove(actorOf(c), id),
    },
    vms: {
      list: async (c, q) => {
        const want = { state: f(q, 'state'), hostId: f(q, 'hostId') ?? undefined, name: f(q, 'name') };
        const page =
          (await tagged(
            s,
            c,
            q,
            'vm',
            (id) => s.vms.get(actorOf(c), id),
            (v) => matches(v, want),
          )) ?? (await listOrGet(s.vms, c, q, want));
        // CloudStack lists no expunged VM, not even by id, unless that state is asked for.
        if (want.state) return withOfferings(s, page);
        const live = page.items.filter((v) => v.state !== 'Expunged');
        return withOfferings(s, { items: live, total: page.total - (page.items.length - live.length) });
      },
      get: async (c, id) =>
        (await withOfferings(s, { items: [await s.vms.get(actorOf(c), id)], total: 1 })).items[0]!,
      deploy: async (c, i) => {
        const deployed = started(
          await op.deployVm(actorOf(c), {
            name: i.name,
            templateId: i.templateId,
            ...(i.poolId ? { poolId: i.poolId } : {}),
            ...(i.hostId ? { hostId: i.hostId } : {}),
            ...(i.cpus ? { cpus: i.cpus } : {}),
            ...(i.memoryBytes ? { memoryBytes: i.memoryBytes } : {}),
            ...(i.serviceOfferingId ? { serviceOfferingId: i.serviceOfferingId } : {}),
            start: i.start,
          }),
        );
        if (i.displayName !== undefined && i.displayName !== i.name)
          await s.vms.update(actorOf(c), deployed.resourceId, { displayName: i.displayName });
        return deployed;
      },
      start: async (c, id, hostId) => started(await op.startVm(actorOf(c), id, hostId)),
      migrate: async (c, id, hostId) => started(await op.migrateVm(actorOf(c), id, hostId)),
      migrationHosts: async (c, id) =>
        Promise.all(
          (await op.migrationHosts(actorOf(c), id)).map(async (x) => ({
            host: await s.hosts.get(actorOf(c), x.hostId),
            suitable: x.suitable,
            reason: x.reason,
          })),
        ),
      stop: async (c, id, forced) => started(await op.stopVm(actorOf(c), id, forced)),
      destroy: async (c, id, expunge) => started(await s.vmLifecycle.destroy(actorOf(c), id, { expunge })),
      // Answered as listVirtualMachines answers it (offering, tags): a client compares the two.
      recover: async (c, id) =>
        (await withOfferings(s, { items: [await s.vmLifecycle.recover(actorOf(c), id)], total: 1 }))
          .items[0]!,
      expunge: async (c, id) => started(await s.vmLifecycle.expunge(actorOf(c), id)),
      update: async (c, id, i) =>
        (await withOfferings(s, { items: [await s.vms.update(actorOf(c), id, i)], total: 1 })).items[0]!,
    },
    volumes: {
      list: async (c, q) => {
        const want = { poolId: f(q, 'poolId'), vmId: f(q, 'vmId'), type: f(q, 'type'), name: f(q, 'name') };
        const page =
          (await tagged(
            s,
            c,
            q,
            'volume',
            (id) => s.volumes.get(actorOf(c), id),
            (v) => v.state !== 'Destroyed' && matches(v, want),
          )) ?? (await listOrGet(s.volumes, c, q, { ...want, live: true }));
        return withPlacements(s, page);
      },
      get: async (c, id) =>
        (await withPlacements(s, { items: [await s.volumes.get(actorOf(c), id)], total: 1 })).items[0]!,
      create: async (c, i) => {
        if (i.vmId)
          missing(
            'attaching at creation (createVolume with virtualmachineid); call attachVolume once it is Ready',
          );
        const qos = qosInput(i.qos);
        return started(
          await op.createVolume(actorOf(c), {
            name: i.name,
            ...(i.poolId ? { poolId: i.poolId } : {}),
            ...(i.zoneId ? { zoneId: i.zoneId } : {}),
            ...(i.snapshotId ? { snapshotId: i.snapshotId } : {}),
            ...(i.sizeBytes !== undefined ? { sizeBytes: i.sizeBytes } : {}),
            offeringId: i.offeringId ?? null,
            qos: qos ?? null,
          }),
        );
      },
      attach: async (c, id, vm) => started(await op.attachVolume(actorOf(c), id, vm)),
      detach: async (c, id) => started(await op.detachVolume(actorOf(c), id)),
      migrate: async (c, id, poolId, live) => {
        const v = await s.volumes.get(actorOf(c), id);
        const vm = v.vmId ? await s.vms.get(actorOf(c), v.vmId) : null;
        if (vm?.state === 'Running' && !live)
          throw new StrataError('INVALID_ARGUMENT', {
            field: 'livemigrate',
            reason: 'the volume belongs to a running VM: send livemigrate=true',
          });
        return started(await op.migrateVolume(actorOf(c), id, poolId));
      },
      resize: async (c, id, i) => {
        // Tools send the volume's own offering with a new size (Ansible's cs_volume): that is no change.
        if (i.offeringId && i.offeringId !== (await s.volumes.get(actorOf(c), id)).offeringId)
          missing('changing the disk offering of a volume');
        const qos = qosInput(i.qos);
        if (qos && i.sizeBytes !== undefined)
          missing('a new size and new IOPS in one resizeVolume (send them one at a time)');
        if (qos) return started(await op.setVolumeQos(actorOf(c), id, qos));
        if (i.sizeBytes === undefined)
          throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command: 'resizeVolume', param: 'size' });
        return started(await op.resizeVolume(actorOf(c), id, i.sizeBytes));
      },
      delete: async (c, id) => started(await op.deleteVolume(actorOf(c), id)),
      update: async (c, id, i) =>
        (await withPlacements(s, { items: [await s.volumes.update(actorOf(c), id, i)], total: 1 })).items[0]!,
    },
    snapshots: {
      list: async (c, q) => {
        const want = { volumeId: f(q, 'volumeId'), name: f(q, 'name') };
        const page =
          (await tagged(
            s,
            c,
            q,
            'volume-snapshot',
            (id) => s.volumeSnapshots.get(actorOf(c), id),
            (x) => matches(x, { ...want, id: f(q, 'id') }),
          )) ?? (await listOrGet(s.volumeSnapshots, c, q, want));
        return withTags(s, 'volume-snapshot', page);
      },
      get: (c, id) => s.volumeSnapshots.get(actorOf(c), id),
      create: async (c, v, i) =>
        started(
          await op.createVolumeSnapshot(actorOf(c), v, {
            name: i.name ?? `snapshot-${Date.now().toString(36)}`,
            quiesce: i.quiesce,
          }),
        ),
      delete: async (c, id) => started(await op.deleteVolumeSnapshot(actorOf(c), id)),
      revert: async (c, id) => started(await op.revertVolumeSnapshot(actorOf(c), id)),
      // The disk's part of the VM snapshot is already a volume snapshot: answered at once.
      fromVmSnapshot: async (c, vmSnapshotId, volumeId) => ({
        jobId: null,
        resourceId: (await s.volumeSnapshots.partOf(actorOf(c), vmSnapshotId, volumeId)).id,
      }),
    },
    vmSnapshots: {
      list: async (c, q) => {
        const want = { vmId: f(q, 'vmId'), state: f(q, 'state'), name: f(q, 'name') };
        // Removed ones only when asked for by state, as CloudStack hides deleted snapshots.
        const live = want.state === undefined;
        const page =
          (await tagged(
            s,
            c,
            q,
            'vm-snapshot',
            (id) => s.vmSnapshots.get(actorOf(c), id),
            (x) => matches(x, { ...want, id: f(q, 'id') }) && !(live && x.state === 'Removed'),
          )) ?? (await listOrGet(s.vmSnapshots, c, q, { ...want, live }));
        return withTags(s, 'vm-snapshot', page);
      },
      get: (c, id) => s.vmSnapshots.get(actorOf(c), id),
      create: async (c, vmId, i) =>
        started(
          await op.createVmSnapshot(actorOf(c), {
            vmId,
            name: i.name ?? `vmsnapshot-${Date.now().toString(36)}`,
            ...(i.description ? { description: i.description } : {}),
            snapshotMemory: i.memory,
            quiesce: i.quiesce ? 'guest' : 'none',
          }),
        ),
      revert: async (c, id) => started(await op.revertVmSnapshot(actorOf(c), id)),
      delete: async (c, id) => started(await op.deleteVmSnapshot(actorOf(c), id)),
    },
    ...(s.jobs.available
      ? {
          jobs: {
            get: async (c, id) => jobView(await s.jobs.get(actorOf(c), id)),
            wait: async (c, id, ms) => jobView(await s.jobs.wait(actorOf(c), id, ms)),
            list: async (c, q) => {
              const page = await s.jobs.list(actorOf(c), { limit: q.pageSize });
              return { items: page.items.map(jobView), total: page.items.length };
            },
          },
        }
      : {}),
  };
}
