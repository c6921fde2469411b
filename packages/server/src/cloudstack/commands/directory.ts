import type { Zone } from '@strata/core';
import { listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read } from '../params.js';
import type { CsObject } from '../serialize.js';
import * as r from '../render.js';

/**
 * The directory every CloudStack client reads before it acts, answered for what Strata has: one
 * ROOT domain, no projects and no networks (empty lists, not errors), each zone as its one pod,
 * the clusters, one OS type, KVM, and capacity per pool.
 */
export const ROOT_DOMAIN: CsObject = {
  id: 'ROOT',
  name: 'ROOT',
  path: 'ROOT',
  level: 0,
  haschild: false,
};

export const listDomains: Command = {
  name: 'listDomains',
  description: 'Lists domains: Strata has one, ROOT, holding every account',
  isAsync: false,
  entity: 'domain',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the domain (ROOT)' },
    name: { type: 'string', description: 'the domain name (ROOT)' },
    listall: { type: 'boolean', description: 'accepted for compatibility' },
  },
  handler(ctx) {
    const id = read.str(ctx.params, 'id');
    const name = read.str(ctx.params, 'name');
    const match =
      (id === undefined || id === 'ROOT') && (name === undefined || name.toUpperCase() === 'ROOT');
    return Promise.resolve(listBody('domain', match ? 1 : 0, match ? [ROOT_DOMAIN] : []));
  },
};

/** A command that answers CloudStack's empty list: Strata has none of these. */
function none(name: string, entity: string, description: string): Command {
  return {
    name,
    description,
    isAsync: false,
    entity,
    params: { ...PAGE_PARAMS, zoneid: { type: 'uuid', description: 'accepted for compatibility' } },
    handler: () => Promise.resolve(listBody(entity, 0, [])),
  };
}

export const listProjects = none(
  'listProjects',
  'project',
  'Lists projects: Strata has none (accounts own resources)',
);
export const listNetworks = none(
  'listNetworks',
  'network',
  'Lists guest networks: Strata manages storage and VMs, not networks; deployVirtualMachine needs none',
);

const pod = (z: Zone): CsObject => ({
  id: z.id,
  name: z.name,
  zoneid: z.id,
  zonename: z.name,
  allocationstate: 'Enabled',
});

export const listPods: Command = {
  name: 'listPods',
  description: 'Lists pods: Strata has none, so each zone answers as its one pod (same id and name)',
  isAsync: false,
  entity: 'pod',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the pod (a zone id)' },
    name: { type: 'string', description: 'the pod name (a zone name)' },
    zoneid: { type: 'uuid', description: 'the zone' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const zoneId = read.str(p, 'zoneid');
    const id = read.str(p, 'id');
    if (zoneId !== undefined && id !== undefined && zoneId !== id) return listBody('pod', 0, []);
    const page = await need(ctx, 'zones').list(
      ctx.caller,
      listQuery(p, { id: id ?? zoneId, name: read.str(p, 'name') }),
    );
    return listBody('pod', page.total, page.items.map(pod));
  },
};

/** Strata does not know a template's guest OS: one OS type stands for every template. */
export const OS_TYPE: CsObject = {
  id: 'other-64',
  description: 'Other (64-bit)',
  oscategoryid: 'other',
  oscategoryname: 'Other',
  isuserdefined: false,
};

export const listOsTypes: Command = {
  name: 'listOsTypes',
  description: 'Lists OS types: one, Other (64-bit), since Strata does not track guest operating systems',
  isAsync: false,
  entity: 'ostype',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the OS type' },
    description: { type: 'string', description: 'the OS type description' },
  },
  handler(ctx) {
    const id = read.str(ctx.params, 'id');
    const d = read.str(ctx.params, 'description');
    const match =
      (id === undefined || id === OS_TYPE['id']) && (d === undefined || d === OS_TYPE['description']);
    return Promise.resolve(listBody('ostype', match ? 1 : 0, match ? [OS_TYPE] : []));
  },
};

export const listHypervisors: Command = {
  name: 'listHypervisors',
  description: 'Lists hypervisors: KVM',
  isAsync: false,
  entity: 'hypervisor',
  params: { zoneid: { type: 'uuid', description: 'accepted for compatibility' } },
  handler: () => Promise.resolve(listBody('hypervisor', 1, [{ name: 'KVM' }])),
};

/** CloudStack's capacity type for allocated primary storage. */
const STORAGE_ALLOCATED = 3;

export const listCapacity: Command = {
  name: 'listCapacity',
  description:
    'Lists primary storage capacity per pool: bytes allocated to volumes and, where the pool promises IOPS, minimum IOPS admitted (operators)',
  isAsync: false,
  entity: 'capacity',
  params: {
    ...PAGE_PARAMS,
    zoneid: { type: 'uuid', description: 'pools of this zone' },
    clusterid: { type: 'uuid', description: 'pools of this cluster' },
    type: { type: 'integer', description: 'capacity type: 3 (storage allocated) is the only one answered' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const type = read.num(p, 'type');
    if (type !== undefined && type !== STORAGE_ALLOCATED) return listBody('capacity', 0, []);
    const q = listQuery(p, { zoneId: read.str(p, 'zoneid'), clusterId: read.str(p, 'clusterid') });
    const page = await need(ctx, 'pools').list(ctx.caller, q);
    return listBody(
      'capacity',
      page.total,
      page.items.map((pool) => ({
        type: STORAGE_ALLOCATED,
        name: 'STORAGE_ALLOCATED',
        zoneid: pool.zoneId,
        podid: pool.zoneId,
        clusterid: pool.clusterId ?? undefined,
        poolid: pool.id,
        poolname: pool.name,
        capacitytotal: pool.capacityBytes,
        capacityused: pool.usedBytes,
        percentused: r.percent(pool.usedBytes, pool.capacityBytes),
        capacityiops: pool.capacityIops,
        usedminiops: pool.usedMinIops,
      })),
    );
  },
};
