import { job, listBody, listQuery, need, PAGE_PARAMS, TAGS_PARAM, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';
import { opt } from './infra.js';

const VMSNAPSHOT_ID = {
  vmsnapshotid: { type: 'uuid', required: true, description: 'the VM snapshot' },
} as const;

export const listVMSnapshot: Command = {
  name: 'listVMSnapshot',
  description: 'Lists VM snapshots',
  isAsync: false,
  entity: 'vmSnapshot',
  params: {
    ...PAGE_PARAMS,
    vmsnapshotid: { type: 'uuid', description: 'the VM snapshot' },
    virtualmachineid: { type: 'uuid', description: 'snapshots of this VM' },
    name: { type: 'string', description: 'the snapshot name' },
    state: { type: 'string', description: 'snapshots in this state' },

    ...TAGS_PARAM,
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'vmsnapshotid'),
      vmId: read.str(p, 'virtualmachineid'),
      name: read.str(p, 'name'),
      state: read.str(p, 'state'),
    });
    const page = await need(ctx, 'vmSnapshots').list(ctx.caller, q);
    // CloudStack spells this list's element vmSnapshot (camel case), and clients rely on it.
    return listBody('vmSnapshot', page.total, page.items.map(r.vmSnapshot));
  },
};

export const createVMSnapshot: Command = {
  name: 'createVMSnapshot',
  description: 'Takes a snapshot of every disk of a VM at one consistent point',
  isAsync: true,
  entity: 'vmsnapshot',
  params: {
    virtualmachineid: { type: 'uuid', required: true, description: 'the VM' },
    name: { type: 'string', description: 'the snapshot name (unique per VM)' },
    description: { type: 'string', description: 'free text' },
    snapshotmemory: { type: 'boolean', description: 'include memory (running VMs only; default false)' },
    quiescevm: { type: 'boolean', description: 'freeze guest filesystems for the cut (default false)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const started = await need(ctx, 'vmSnapshots').create(
      ctx.caller,
      read.required(read.str(p, 'virtualmachineid')),
      {
        ...opt('name', read.str(p, 'name')),
        ...opt('description', read.str(p, 'description')),
        memory: read.bool(p, 'snapshotmemory', false),
        quiesce: read.bool(p, 'quiescevm', false),
      },
    );
    return job(started);
  },
};

export const revertToVMSnapshot: Command = {
  name: 'revertToVMSnapshot',
  description: 'Reverts a VM to a snapshot of its tree',
  isAsync: true,
  entity: 'virtualmachine',
  params: VMSNAPSHOT_ID,
  handler: async (ctx) =>
    job(
      await need(ctx, 'vmSnapshots').revert(ctx.caller, read.required(read.str(ctx.params, 'vmsnapshotid'))),
    ),
};

export const deleteVMSnapshot: Command = {
  name: 'deleteVMSnapshot',
  description: 'Deletes a VM snapshot (its dependants stay usable)',
  isAsync: true,
  params: VMSNAPSHOT_ID,
  handler: async (ctx) =>
    job(
      await need(ctx, 'vmSnapshots').delete(ctx.caller, read.required(read.str(ctx.params, 'vmsnapshotid'))),
    ),
};
