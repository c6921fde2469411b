import { body, job, need, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';

const VM_ID = { id: { type: 'uuid', required: true, description: 'the virtual machine' } } as const;

export const destroyVirtualMachine: Command = {
  name: 'destroyVirtualMachine',
  description:
    'Destroys a virtual machine (a running one is stopped first); DATA volumes are detached and kept. Recoverable until the expunge delay ends, unless expunge=true',
  isAsync: true,
  entity: 'virtualmachine',
  params: { ...VM_ID, expunge: { type: 'boolean', description: 'expunge at once' } },
  handler: async (ctx) =>
    job(
      await need(ctx, 'vms').destroy(
        ctx.caller,
        read.required(read.str(ctx.params, 'id')),
        read.bool(ctx.params, 'expunge', false),
      ),
    ),
};

export const recoverVirtualMachine: Command = {
  name: 'recoverVirtualMachine',
  description: 'Recovers a destroyed virtual machine (Stopped again)',
  isAsync: false,
  entity: 'virtualmachine',
  params: VM_ID,
  handler: async (ctx) =>
    body({
      virtualmachine: r.virtualMachine(
        await need(ctx, 'vms').recover(ctx.caller, read.required(read.str(ctx.params, 'id'))),
      ),
    }),
};

export const expungeVirtualMachine: Command = {
  name: 'expungeVirtualMachine',
  description: 'Expunges a destroyed virtual machine now: its ROOT volume, VM snapshots and definition go',
  isAsync: true,
  entity: 'virtualmachine',
  params: VM_ID,
  handler: async (ctx) =>
    job(await need(ctx, 'vms').expunge(ctx.caller, read.required(read.str(ctx.params, 'id')))),
};
