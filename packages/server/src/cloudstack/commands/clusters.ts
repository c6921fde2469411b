import type { Cluster } from '@strata/core';
import { StrataError } from '@strata/core';
import { body, listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';
import type { CsObject } from '../serialize.js';

/** Strata's clusters are KVM clusters it manages; each zone is its one pod (listPods). */
function cluster(c: Cluster): CsObject {
  return {
    id: c.id,
    name: c.name,
    zoneid: c.zoneId,
    podid: c.zoneId,
    hypervisortype: 'KVM',
    clustertype: 'CloudManaged',
    allocationstate: 'Enabled',
    managedstate: 'Managed',
  };
}

export const listClusters: Command = {
  name: 'listClusters',
  description: 'Lists clusters (KVM)',
  isAsync: false,
  entity: 'cluster',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the cluster' },
    name: { type: 'string', description: 'the cluster name' },
    zoneid: { type: 'uuid', description: 'clusters of this zone' },
    podid: { type: 'uuid', description: 'clusters of this pod (a zone id)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      zoneId: read.str(p, 'zoneid') ?? read.str(p, 'podid'),
    });
    const page = await need(ctx, 'clusters').list(ctx.caller, q);
    return listBody('cluster', page.total, page.items.map(cluster));
  },
};

/** Only what Strata has: a KVM cluster it manages, in a zone (the pod is the zone). */
function refuseUnlike(p: Parsed): void {
  const hv = read.str(p, 'hypervisor');
  if (hv !== undefined && hv.toLowerCase() !== 'kvm')
    throw new StrataError('INVALID_ARGUMENT', { field: 'hypervisor', reason: 'must be KVM' });
  const type = read.str(p, 'clustertype');
  if (type !== undefined && type !== 'CloudManaged')
    throw new StrataError('INVALID_ARGUMENT', { field: 'clustertype', reason: 'must be CloudManaged' });
}

export const addCluster: Command = {
  name: 'addCluster',
  description: 'Adds a KVM cluster to a zone (admins); hosts join it when their agent registers',
  isAsync: false,
  entity: 'cluster',
  params: {
    clustername: { type: 'string', required: true, description: 'the cluster name' },
    zoneid: { type: 'uuid', required: true, description: 'the zone' },
    podid: { type: 'uuid', description: 'the pod: the zone id (listPods), or absent' },
    hypervisor: { type: 'string', required: true, description: 'KVM' },
    clustertype: { type: 'string', required: true, description: 'CloudManaged' },
  },
  async handler(ctx) {
    const p = ctx.params;
    refuseUnlike(p);
    const zoneId = read.required(read.str(p, 'zoneid'));
    const podId = read.str(p, 'podid');
    if (podId !== undefined && podId !== zoneId)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'podid',
        reason: "must be the zone's one pod (its id)",
      });
    const c = await need(ctx, 'clusters').create(ctx.caller, {
      zoneId,
      name: read.required(read.str(p, 'clustername')),
    });
    return listBody('cluster', 1, [cluster(c)]);
  },
};

export const deleteCluster: Command = {
  name: 'deleteCluster',
  description: 'Deletes a cluster that holds no host and no storage pool (admins)',
  isAsync: false,
  params: { id: { type: 'uuid', required: true, description: 'the cluster' } },
  async handler(ctx) {
    await need(ctx, 'clusters').remove(ctx.caller, read.required(read.str(ctx.params, 'id')));
    return body({ success: true });
  },
};
