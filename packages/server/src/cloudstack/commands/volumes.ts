import { StrataError } from '@strata/core';
import type { JobView } from '../deps.js';
import { body, job, listBody, listQuery, need, PAGE_PARAMS, TAGS_PARAM, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';
import * as r from '../render.js';
import { opt } from './infra.js';

const GiB = 1024 ** 3;
const VOLUME_ID = { id: { type: 'uuid', required: true, description: 'the volume' } } as const;

function qosOf(
  p: Parsed,
): { minIops?: number; maxIops?: number; burstIops?: number; burstSeconds?: number } | undefined {
  const q = {
    ...opt('minIops', read.num(p, 'miniops')),
    ...opt('maxIops', read.num(p, 'maxiops')),
    ...opt('burstIops', read.num(p, 'burstiops')),
    ...opt('burstSeconds', read.num(p, 'burstseconds')),
  };
  return Object.keys(q).length > 0 ? q : undefined;
}

const QOS_PARAMS = {
  miniops: { type: 'long', description: 'minimum IOPS (offering with customizediops)' },
  maxiops: { type: 'long', description: 'maximum IOPS (offering with customizediops)' },
  burstiops: { type: 'long', description: 'burst IOPS' },
  burstseconds: { type: 'long', description: 'burst length in seconds' },
} as const;

export const listVolumes: Command = {
  name: 'listVolumes',
  description: 'Lists volumes',
  isAsync: false,
  entity: 'volume',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the volume' },
    name: { type: 'string', description: 'the volume name' },
    virtualmachineid: { type: 'uuid', description: 'volumes of this VM' },
    storageid: { type: 'uuid', description: 'volumes on this pool' },
    type: { type: 'string', description: 'ROOT or DATADISK' },
    ...TAGS_PARAM,
  },
  async handler(ctx) {
    const p = ctx.params;
    const type = read.str(p, 'type')?.toUpperCase();
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      vmId: read.str(p, 'virtualmachineid'),
      poolId: read.str(p, 'storageid'),
      type: type === 'DATADISK' ? 'DATA' : type,
    });
    const page = await need(ctx, 'volumes').list(ctx.caller, q);
    return listBody(
      'volume',
      page.total,
      page.items.map((v) => r.volume(v, ctx.caller.role === 'admin')),
    );
  },
};

export const createVolume: Command = {
  name: 'createVolume',
  description: 'Creates a volume from an offering, a custom size or a snapshot',
  isAsync: true,
  entity: 'volume',
  params: {
    name: { type: 'string', description: 'the volume name' },
    zoneid: { type: 'uuid', description: 'the zone' },
    diskofferingid: { type: 'uuid', description: 'the disk offering' },
    size: { type: 'long', description: 'size in GiB, for a custom-size offering' },
    snapshotid: { type: 'uuid', description: 'make the volume from this volume snapshot' },
    storageid: { type: 'uuid', description: 'the pool (Strata extension; otherwise chosen by the service)' },
    virtualmachineid: { type: 'uuid', description: 'attach to this VM once created' },
    ...QOS_PARAMS,
  },
  async handler(ctx) {
    const p = ctx.params;
    const size = read.num(p, 'size');
    const qos = qosOf(p);
    const started = await need(ctx, 'volumes').create(ctx.caller, {
      name: read.str(p, 'name') ?? `volume-${Date.now().toString(36)}`,
      ...opt('zoneId', read.str(p, 'zoneid')),
      ...opt('offeringId', read.str(p, 'diskofferingid')),
      ...opt('sizeBytes', size === undefined ? undefined : size * GiB),
      ...opt('snapshotId', read.str(p, 'snapshotid')),
      ...opt('poolId', read.str(p, 'storageid')),
      ...opt('vmId', read.str(p, 'virtualmachineid')),
      ...(qos ? { qos } : {}),
    });
    return job(started);
  },
};

export const attachVolume: Command = {
  name: 'attachVolume',
  description: 'Attaches a volume to a VM (running or stopped)',
  isAsync: true,
  entity: 'volume',
  params: {
    ...VOLUME_ID,
    virtualmachineid: { type: 'uuid', required: true, description: 'the VM' },
    deviceid: { type: 'long', description: 'accepted for compatibility; the next free slot is used' },
  },
  handler: async (ctx) =>
    job(
      await need(ctx, 'volumes').attach(
        ctx.caller,
        read.required(read.str(ctx.params, 'id')),
        read.required(read.str(ctx.params, 'virtualmachineid')),
      ),
    ),
};

export const detachVolume: Command = {
  name: 'detachVolume',
  description: 'Detaches a volume from its VM',
  isAsync: true,
  entity: 'volume',
  params: VOLUME_ID,
  handler: async (ctx) =>
    job(await need(ctx, 'volumes').detach(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};

export const resizeVolume: Command = {
  name: 'resizeVolume',
  description: 'Grows a volume, or changes its offering or IOPS',
  isAsync: true,
  entity: 'volume',
  params: {
    ...VOLUME_ID,
    size: { type: 'long', description: 'new size in GiB' },
    diskofferingid: { type: 'uuid', description: 'new disk offering' },
    shrinkok: { type: 'boolean', description: 'refused: volumes never shrink' },
    ...QOS_PARAMS,
  },
  async handler(ctx) {
    const p = ctx.params;
    const size = read.num(p, 'size');
    const qos = qosOf(p);
    const started = await need(ctx, 'volumes').resize(ctx.caller, read.required(read.str(p, 'id')), {
      ...opt('sizeBytes', size === undefined ? undefined : size * GiB),
      ...opt('offeringId', read.str(p, 'diskofferingid')),
      ...(qos ? { qos } : {}),
    });
    return job(started);
  },
};

/**
 * Moves a volume to another pool. With its VM running the move is live (`livemigrate=true`,
 * refused otherwise, as CloudStack refuses it); stopped or detached, the disk is copied offline.
 */
export const migrateVolume: Command = {
  name: 'migrateVolume',
  description: 'Moves a volume to another storage pool, live when its VM runs',
  isAsync: true,
  entity: 'volume',
  params: {
    volumeid: { type: 'uuid', required: true, description: 'the volume' },
    storageid: { type: 'uuid', required: true, description: 'the destination pool' },
    livemigrate: { type: 'boolean', description: 'move the disk of a running VM (required for one)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const started = await need(ctx, 'volumes').migrate(
      ctx.caller,
      read.required(read.str(p, 'volumeid')),
      read.required(read.str(p, 'storageid')),
      read.bool(p, 'livemigrate', false),
    );
    return job(started);
  },
};

/** Synchronous in CloudStack: the answer waits for the deletion. */
export const deleteVolume: Command = {
  name: 'deleteVolume',
  description: 'Deletes a detached volume',
  isAsync: false,
  params: VOLUME_ID,
  async handler(ctx) {
    const started = await need(ctx, 'volumes').delete(ctx.caller, read.required(read.str(ctx.params, 'id')));
    if (started.jobId === null) return body({ success: true });
    const done = await need(ctx, 'jobs').wait(ctx.caller, started.jobId, 10 * 60_000);
    if (done.state !== 'Succeeded') throw jobFailure(done);
    return body({ success: true });
  },
};

/** A job that failed while a synchronous command waited on it: its own error, kept as it was. */
export function jobFailure(j: JobView): StrataError {
  const err = new StrataError('INTERNAL', { reason: j.error?.message ?? `job ${j.id} ended ${j.state}` });
  if (j.error) Object.assign(err, { code: j.error.code, status: j.error.status, message: j.error.message });
  return err;
}
