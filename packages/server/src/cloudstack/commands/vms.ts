import { body, job, listBody, listQuery, need, PAGE_PARAMS, TAGS_PARAM, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';
import { opt } from './infra.js';

const MiB = 1024 ** 2;
const VM_ID = { id: { type: 'uuid', required: true, description: 'the virtual machine' } } as const;

export const listVirtualMachines: Command = {
  name: 'listVirtualMachines',
  description: 'Lists virtual machines',
  isAsync: false,
  entity: 'virtualmachine',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the virtual machine' },
    name: { type: 'string', description: 'the VM name' },
    state: { type: 'string', description: 'VMs in this state' },
    hostid: { type: 'uuid', description: 'VMs on this host' },
    ...TAGS_PARAM,
  },
  async handler(ctx) {
    const p = ctx.params;
    const q = listQuery(p, {
      id: read.str(p, 'id'),
      name: read.str(p, 'name'),
      state: read.str(p, 'state'),
      hostId: read.str(p, 'hostid'),
    });
    const page = await need(ctx, 'vms').list(ctx.caller, q);
    return listBody('virtualmachine', page.total, page.items.map(r.virtualMachine));
  },
};

export const deployVirtualMachine: Command = {
  name: 'deployVirtualMachine',
  description: 'Creates a virtual machine from a template and starts it',
  isAsync: true,
  entity: 'virtualmachine',
  params: {
    templateid: { type: 'uuid', required: true, description: 'the template (base image)' },
    zoneid: { type: 'uuid', required: true, description: 'the zone' },
    serviceofferingid: {
      type: 'uuid',
      description: 'the service offering: its vCPUs and memory (cpunumber and memory override them)',
    },
    name: { type: 'string', description: 'the VM name' },
    displayname: { type: 'string', description: 'the display name; also the name when name is absent' },
    hostid: { type: 'uuid', description: 'the host to run on' },
    storageid: { type: 'uuid', description: 'the pool of the ROOT volume' },
    cpunumber: { type: 'integer', description: 'vCPUs' },
    memory: { type: 'integer', description: 'memory in MiB' },
    startvm: { type: 'boolean', description: 'start the VM (default true)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const memory = read.num(p, 'memory');
    const started = await need(ctx, 'vms').deploy(ctx.caller, {
      name: read.str(p, 'name') ?? read.str(p, 'displayname') ?? `vm-${Date.now().toString(36)}`,
      templateId: read.required(read.str(p, 'templateid')),
      zoneId: read.required(read.str(p, 'zoneid')),
      ...opt('hostId', read.str(p, 'hostid')),
      ...opt('poolId', read.str(p, 'storageid')),
      ...opt('cpus', read.num(p, 'cpunumber')),
      ...opt('memoryBytes', memory === undefined ? undefined : memory * MiB),
      ...opt('serviceOfferingId', read.str(p, 'serviceofferingid')),
      ...opt('displayName', read.str(p, 'displayname')),
      start: read.bool(p, 'startvm', true),
    });
    return started.jobId
      ? job(started)
      : body({
          virtualmachine: r.virtualMachine(await need(ctx, 'vms').get(ctx.caller, started.resourceId)),
        });
  },
};

export const startVirtualMachine: Command = {
  name: 'startVirtualMachine',
  description: 'Starts a virtual machine on the host placement chooses, or on hostid (admins)',
  isAsync: true,
  entity: 'virtualmachine',
  params: { ...VM_ID, hostid: { type: 'uuid', description: 'the host to start on (admins)' } },
  handler: async (ctx) =>
    job(
      await need(ctx, 'vms').start(
        ctx.caller,
        read.required(read.str(ctx.params, 'id')),
        read.str(ctx.params, 'hostid'),
      ),
    ),
};

export const migrateVirtualMachine: Command = {
  name: 'migrateVirtualMachine',
  description: 'Live-migrates a running virtual machine with its managed disks (admins)',
  isAsync: true,
  entity: 'virtualmachine',
  params: {
    virtualmachineid: { type: 'uuid', required: true, description: 'the VM' },
    hostid: { type: 'uuid', description: 'the destination (default: the host placement chooses)' },
  },
  handler: async (ctx) =>
    job(
      await need(ctx, 'vms').migrate(
        ctx.caller,
        read.required(read.str(ctx.params, 'virtualmachineid')),
        read.str(ctx.params, 'hostid'),
      ),
    ),
};

export const findHostsForMigration: Command = {
  name: 'findHostsForMigration',
  description: 'Lists the hosts a running virtual machine could be live-migrated to (admins)',
  isAsync: false,
  entity: 'host',
  params: { id: { type: 'uuid', required: true, description: 'the virtual machine' } },
  async handler(ctx) {
    const found = await need(ctx, 'vms').migrationHosts(
      ctx.caller,
      read.required(read.str(ctx.params, 'id')),
    );
    return listBody(
      'host',
      found.length,
      found.map((x) => ({
        ...r.host(x.host),
        suitableformigration: x.suitable,
        requiresStorageMotion: false,
        ...(x.reason !== null && { notsuitablereason: x.reason }),
      })),
    );
  },
};

export const stopVirtualMachine: Command = {
  name: 'stopVirtualMachine',
  description: 'Stops a virtual machine (graceful, then forced)',
  isAsync: true,
  entity: 'virtualmachine',
  params: { ...VM_ID, forced: { type: 'boolean', description: 'power off at once' } },
  handler: async (ctx) =>
    job(
      await need(ctx, 'vms').stop(
        ctx.caller,
        read.required(read.str(ctx.params, 'id')),
        read.bool(ctx.params, 'forced', false),
      ),
    ),
};
