import { body, job, listBody, listQuery, need, PAGE_PARAMS, TAGS_PARAM, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';
import { opt } from './infra.js';

const SNAPSHOT_ID = { id: { type: 'uuid', required: true, description: 'the volume snapshot' } } as const;

export const listSnapshots: Command = {
  name: 'listSnapshots',
  description: 'Lists volume snapshots',
  isAsync: false,
  entity: 'snapshot',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the snapshot' },
    name: { type: 'string', description: 'the snapshot name' },
    volumeid: { type: 'uuid', description: 'snapshots of this volume' },

    ...TAGS_PARAM,
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      volumeId: read.str(p, 'volumeid'),
    });
    const page = await need(ctx, 'snapshots').list(ctx.caller, q);
    return listBody('snapshot', page.total, page.items.map(r.snapshot));
  },
};

export const createSnapshot: Command = {
  name: 'createSnapshot',
  description: 'Takes a snapshot of one volume',
  isAsync: true,
  entity: 'snapshot',
  params: {
    volumeid: { type: 'uuid', required: true, description: 'the volume' },
    name: { type: 'string', description: 'the snapshot name' },
    quiescevm: { type: 'boolean', description: 'freeze the guest filesystems for the cut (default false)' },
    locationtype: {
      type: 'string',
      description: "PRIMARY (kept on the volume's storage); SECONDARY is not offered",
    },
  },
  async handler(ctx) {
    const p = ctx.params;
    const started = await need(ctx, 'snapshots').create(ctx.caller, read.required(read.str(p, 'volumeid')), {
      ...opt('name', read.str(p, 'name')),
      quiesce: read.bool(p, 'quiescevm', false),
    });
    return job(started);
  },
};

export const deleteSnapshot: Command = {
  name: 'deleteSnapshot',
  description: 'Deletes a volume snapshot',
  isAsync: true,
  entity: 'snapshot',
  params: SNAPSHOT_ID,
  handler: async (ctx) =>
    job(await need(ctx, 'snapshots').delete(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};

export const revertSnapshot: Command = {
  name: 'revertSnapshot',
  description: 'Reverts a volume to a snapshot (refused on a volume of a running VM)',
  isAsync: true,
  entity: 'snapshot',
  params: SNAPSHOT_ID,
  handler: async (ctx) =>
    job(await need(ctx, 'snapshots').revert(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};

export const createSnapshotFromVMSnapshot: Command = {
  name: 'createSnapshotFromVMSnapshot',
  description:
    'Answers the volume snapshot holding one disk of a VM snapshot (createVolume with it makes an independent volume)',
  isAsync: true,
  entity: 'snapshot',
  params: {
    volumeid: { type: 'uuid', required: true, description: 'the volume' },
    vmsnapshotid: { type: 'uuid', required: true, description: 'the VM snapshot' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const snapshots = need(ctx, 'snapshots');
    const found = await snapshots.fromVmSnapshot(
      ctx.caller,
      read.required(read.str(p, 'vmsnapshotid')),
      read.required(read.str(p, 'volumeid')),
    );
    // Nothing to wait for: the answer carries the snapshot, as a finished job's result would.
    return body({ snapshot: r.snapshot(await snapshots.get(ctx.caller, found.resourceId)) });
  },
};
