import type { PoolScope } from '@strata/core';
import { body, job, listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';

const GiB = 1024 ** 3;

export const listZones: Command = {
  name: 'listZones',
  description: 'Lists zones',
  isAsync: false,
  entity: 'zone',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the zone' },
    name: { type: 'string', description: 'the zone name' },
  },
  async handler(ctx) {
    const page = await need(ctx, 'zones').list(
      ctx.caller,
      listQuery(ctx.params, { id: read.str(ctx.params, 'id'), name: read.str(ctx.params, 'name') }),
    );
    return listBody('zone', page.total, page.items.map(r.zone));
  },
};

export const listHosts: Command = {
  name: 'listHosts',
  description: 'Lists hosts',
  isAsync: false,
  entity: 'host',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the host' },
    name: { type: 'string', description: 'the host name' },
    clusterid: { type: 'uuid', description: 'hosts of this cluster' },
    state: { type: 'string', description: 'hosts in this state' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      clusterId: read.str(p, 'clusterid'),
      state: read.str(p, 'state'),
    });
    const page = await need(ctx, 'hosts').list(ctx.caller, q);
    return listBody('host', page.total, page.items.map(r.host));
  },
};

export const prepareHostForMaintenance: Command = {
  name: 'prepareHostForMaintenance',
  description:
    'Puts a host into maintenance (admins): its running VMs live-migrate to other hosts first; refused when there is no room for them',
  isAsync: true,
  entity: 'host',
  params: { id: { type: 'uuid', required: true, description: 'the host' } },
  handler: async (ctx) =>
    job(await need(ctx, 'hosts').prepareMaintenance(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};

export const cancelHostMaintenance: Command = {
  name: 'cancelHostMaintenance',
  description: 'Brings a host back from maintenance, or stops its preparation (admins)',
  isAsync: true,
  entity: 'host',
  params: { id: { type: 'uuid', required: true, description: 'the host' } },
  handler: async (ctx) =>
    job(await need(ctx, 'hosts').cancelMaintenance(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};

export const listStoragePools: Command = {
  name: 'listStoragePools',
  description: 'Lists storage pools',
  isAsync: false,
  entity: 'storagepool',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the pool' },
    name: { type: 'string', description: 'the pool name' },
    zoneid: { type: 'uuid', description: 'pools of this zone' },
    clusterid: { type: 'uuid', description: 'pools of this cluster' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      zoneId: read.str(p, 'zoneid'),
      clusterId: read.str(p, 'clusterid'),
    });
    const page = await need(ctx, 'pools').list(ctx.caller, q);
    return listBody('storagepool', page.total, page.items.map(r.storagePool));
  },
};

export const createStoragePool: Command = {
  name: 'createStoragePool',
  description: 'Creates a storage pool',
  isAsync: false,
  entity: 'storagepool',
  params: {
    name: { type: 'string', required: true, description: 'the pool name' },
    url: { type: 'string', required: true, description: 'where the storage is (path, iscsi://, rbd://)' },
    zoneid: { type: 'uuid', required: true, description: 'the zone' },
    clusterid: { type: 'uuid', description: 'the cluster, for CLUSTER scope' },
    provider: { type: 'string', description: 'the driver: qcow2 (default), tgt or rbd' },
    scope: {
      type: 'string',
      description: 'HOST, CLUSTER or ZONE (default CLUSTER with clusterid, else ZONE)',
    },
    managed: { type: 'boolean', description: 'one backend volume per virtual disk' },
    capacitybytes: { type: 'long', description: 'capacity in bytes' },
    capacityiops: {
      type: 'long',
      description: 'IOPS the pool can guarantee (admission on the sum of min IOPS)',
    },
    details: { type: 'map', description: 'driver details, details[0].key=value' },
    tags: {
      type: 'string',
      description:
        'storage tags, comma-separated: offerings with tags place volumes only on pools carrying them',
    },
    hypervisor: { type: 'string', description: 'accepted for compatibility; KVM only' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const clusterId = read.str(p, 'clusterid');
    const scope = (read.str(p, 'scope')?.toLowerCase() ?? (clusterId ? 'cluster' : 'zone')) as PoolScope;
    const pool = await need(ctx, 'pools').create(ctx.caller, {
      name: read.required(read.str(p, 'name')),
      url: read.required(read.str(p, 'url')),
      zoneId: read.required(read.str(p, 'zoneid')),
      ...(clusterId ? { clusterId } : {}),
      provider: read.str(p, 'provider') ?? 'qcow2',
      scope,
      managed: read.bool(p, 'managed', false),
      ...opt('capacityBytes', read.num(p, 'capacitybytes')),
      ...opt('capacityIops', read.num(p, 'capacityiops')),
      details: read.map(p, 'details'),
      ...opt('storageTags', splitTags(read.str(p, 'tags'))),
    });
    return body({ storagepool: r.storagePool(pool) });
  },
};

export const listDiskOfferings: Command = {
  name: 'listDiskOfferings',
  description: 'Lists disk offerings',
  isAsync: false,
  entity: 'diskoffering',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the offering' },
    name: { type: 'string', description: 'the offering name' },
  },
  async handler(ctx) {
    const q = listQuery(ctx.params, { id: read.str(ctx.params, 'id'), name: read.str(ctx.params, 'name') });
    const page = await need(ctx, 'offerings').list(ctx.caller, q);
    return listBody('diskoffering', page.total, page.items.map(r.diskOffering));
  },
};

export const createDiskOffering: Command = {
  name: 'createDiskOffering',
  description: 'Creates a disk offering',
  isAsync: false,
  entity: 'diskoffering',
  params: {
    name: { type: 'string', required: true, description: 'the offering name' },
    displaytext: { type: 'string', description: 'the display text (default: the name)' },
    disksize: { type: 'long', description: 'size in GiB (absent: custom size)' },
    customized: { type: 'boolean', description: 'the size is given at volume creation' },
    customizediops: { type: 'boolean', description: 'IOPS are given at volume creation' },
    miniops: { type: 'long', description: 'minimum IOPS' },
    maxiops: { type: 'long', description: 'maximum IOPS' },
    burstiops: { type: 'long', description: 'burst IOPS (default: maxiops)' },
    burstseconds: { type: 'long', description: 'how long a burst may last (default 60)' },
    hypervisorsnapshotreserve: {
      type: 'integer',
      description: 'percent of extra space for hypervisor snapshots',
    },
    storagetype: { type: 'string', description: 'accepted for compatibility; shared only' },
    tags: {
      type: 'string',
      description: 'storage tags, comma-separated: its volumes go only to pools carrying every one',
    },
  },
  async handler(ctx) {
    const p = ctx.params;
    const size = read.num(p, 'disksize');
    // Defaults (burst, burst length) belong to the service, which the REST API shares.
    const qos = {
      ...opt('minIops', read.num(p, 'miniops')),
      ...opt('maxIops', read.num(p, 'maxiops')),
      ...opt('burstIops', read.num(p, 'burstiops')),
      ...opt('burstSeconds', read.num(p, 'burstseconds')),
    };
    const offering = await need(ctx, 'offerings').create(ctx.caller, {
      name: read.required(read.str(p, 'name')),
      ...opt('displayText', read.str(p, 'displaytext')),
      ...opt('sizeBytes', size === undefined ? undefined : size * GiB),
      customSize: read.bool(p, 'customized', size === undefined),
      ...(Object.keys(qos).length > 0 ? { qos } : {}),
      customIops: read.bool(p, 'customizediops', false),
      hypervisorSnapshotReserve: read.num(p, 'hypervisorsnapshotreserve') ?? 0,
      ...opt('storageTags', splitTags(read.str(p, 'tags'))),
    });
    return body({ diskoffering: r.diskOffering(offering) });
  },
};

export const listTemplates: Command = {
  name: 'listTemplates',
  description: 'Lists templates (base images)',
  isAsync: false,
  entity: 'template',
  params: {
    ...PAGE_PARAMS,
    templatefilter: {
      type: 'string',
      required: true,
      description: 'CloudStack filter (featured, self, all, ...); every template is listed',
    },
    id: { type: 'uuid', description: 'the template' },
    name: { type: 'string', description: 'the template name' },
    zoneid: { type: 'uuid', description: 'accepted for compatibility' },
  },
  async handler(ctx) {
    const q = listQuery(ctx.params, { id: read.str(ctx.params, 'id'), name: read.str(ctx.params, 'name') });
    const page = await need(ctx, 'templates').list(ctx.caller, q);
    return listBody('template', page.total, page.items.map(r.template));
  },
};

/** `{key: value}` when value is set, `{}` otherwise: keeps optional fields absent, not undefined. */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** CloudStack's comma-separated storage tags; the service validates each. */
export function splitTags(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
}
