import { StrataError } from '@strata/core';
import { body, need, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';

/**
 * updateVirtualMachine and updateVolume: what Strata keeps of them is the display name (the REST
 * API's PATCH /v1/vms/:id and /v1/volumes/:id). Parameters for what Strata does not have (user
 * data, OS type, group, HA, security groups) are accepted when empty and refused when they would
 * change something, so a tool never believes a change was made.
 */
function refuseChange(command: string, params: Record<string, unknown>, names: readonly string[]): void {
  for (const param of names) {
    const value = params[param];
    if (value === undefined || value === '') continue;
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command,
      param,
      value: typeof value === 'string' ? value : JSON.stringify(value),
      reason: 'Strata keeps no such setting (only displayname changes)',
    });
  }
}

export const updateVirtualMachine: Command = {
  name: 'updateVirtualMachine',
  description: "Changes a virtual machine's display name (the only setting of this command Strata keeps)",
  isAsync: false,
  entity: 'virtualmachine',
  params: {
    id: { type: 'uuid', required: true, description: 'the virtual machine' },
    displayname: { type: 'string', description: 'the new display name (empty: the name shows)' },
    userdata: { type: 'string', description: 'not supported: refused unless empty' },
    ostypeid: { type: 'string', description: 'not supported: refused unless empty' },
    group: { type: 'string', description: 'not supported: refused unless empty' },
    haenable: { type: 'string', description: 'not supported: refused unless empty' },
    securitygroupnames: { type: 'string', description: 'not supported: refused unless empty' },
  },
  async handler(ctx) {
    const p = ctx.params;
    refuseChange('updateVirtualMachine', p, [
      'userdata',
      'ostypeid',
      'group',
      'haenable',
      'securitygroupnames',
    ]);
    const displayName = read.str(p, 'displayname');
    const vm = await need(ctx, 'vms').update(ctx.caller, read.required(read.str(p, 'id')), {
      ...(displayName !== undefined ? { displayName } : {}),
    });
    return body({ virtualmachine: r.virtualMachine(vm) });
  },
};

export const updateVolume: Command = {
  name: 'updateVolume',
  description:
    "Changes a volume's display name (the only setting of this command Strata keeps); answered at once",
  isAsync: false,
  entity: 'volume',
  params: {
    id: { type: 'uuid', required: true, description: 'the volume' },
    displayname: { type: 'string', description: 'the new display name (empty: the name shows)' },
    displayvolume: { type: 'boolean', description: 'accepted when true: every volume is shown' },
    path: { type: 'string', description: 'not supported: refused unless empty' },
    storageid: { type: 'uuid', description: 'not supported (migrateVolume moves a volume): refused' },
    state: { type: 'string', description: 'not supported: refused unless empty' },
  },
  async handler(ctx) {
    const p = ctx.params;
    refuseChange('updateVolume', p, ['path', 'storageid', 'state']);
    if (read.bool(p, 'displayvolume', true) === false)
      refuseChange('updateVolume', { displayvolume: 'false' }, ['displayvolume']);
    const displayName = read.str(p, 'displayname');
    const volume = await need(ctx, 'volumes').update(ctx.caller, read.required(read.str(p, 'id')), {
      ...(displayName !== undefined ? { displayName } : {}),
    });
    return body({ volume: r.volume(volume, ctx.caller.role === 'admin') });
  },
};
