import { body, listBody, listQuery, need, PAGE_PARAMS, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';
import * as r from '../render.js';
import { opt, splitTags } from './infra.js';

const MiB = 1024 ** 2;

const UPDATE_PARAMS = {
  name: { type: 'string', description: 'a new name' },
  displaytext: { type: 'string', description: 'a new display text' },
  displayoffering: { type: 'boolean', description: 'accepted for compatibility; every offering is shown' },
  sortkey: { type: 'integer', description: 'accepted for compatibility; offerings list by creation' },
} as const;

const updateOf = (p: Parsed) => ({
  ...opt('name', read.str(p, 'name')),
  ...opt('displayText', read.str(p, 'displaytext')),
});

export const updateDiskOffering: Command = {
  name: 'updateDiskOffering',
  description:
    'Renames a disk offering or changes its display text or storage tags (size and IOPS stay; new volumes are placed by the new tags)',
  isAsync: false,
  entity: 'diskoffering',
  params: {
    id: { type: 'uuid', required: true, description: 'the offering' },
    ...UPDATE_PARAMS,
    tags: { type: 'string', description: 'the storage tags, comma-separated (empty: none)' },
  },
  async handler(ctx) {
    const id = read.required(read.str(ctx.params, 'id'));
    const o = await need(ctx, 'offerings').update(ctx.caller, id, {
      ...updateOf(ctx.params),
      ...opt('storageTags', splitTags(read.str(ctx.params, 'tags'))),
    });
    return body({ diskoffering: r.diskOffering(o) });
  },
};

export const listServiceOfferings: Command = {
  name: 'listServiceOfferings',
  description: 'Lists service (compute) offerings',
  isAsync: false,
  entity: 'serviceoffering',
  params: {
    ...PAGE_PARAMS,
    id: { type: 'uuid', description: 'the offering' },
    name: { type: 'string', description: 'the offering name' },
    issystem: { type: 'boolean', description: 'system VM offerings: Strata has none, so true lists nothing' },
    virtualmachineid: { type: 'uuid', description: 'accepted for compatibility; every offering is listed' },
  },
  async handler(ctx) {
    if (read.bool(ctx.params, 'issystem', false)) return listBody('serviceoffering', 0, []);
    const q = listQuery(ctx.params, { id: read.str(ctx.params, 'id'), name: read.str(ctx.params, 'name') });
    const page = await need(ctx, 'serviceOfferings').list(ctx.caller, q);
    return listBody('serviceoffering', page.total, page.items.map(r.serviceOffering));
  },
};

export const createServiceOffering: Command = {
  name: 'createServiceOffering',
  description: 'Creates a service (compute) offering: vCPUs and memory',
  isAsync: false,
  entity: 'serviceoffering',
  params: {
    name: { type: 'string', required: true, description: 'the offering name' },
    displaytext: { type: 'string', description: 'the display text (default: the name)' },
    cpunumber: { type: 'integer', required: true, description: 'vCPUs' },
    memory: { type: 'integer', required: true, description: 'memory in MiB' },
    cpuspeed: { type: 'integer', description: 'accepted for compatibility; no CPU shares' },
    storagetype: { type: 'string', description: 'accepted for compatibility; shared only' },
    offerha: { type: 'boolean', description: 'accepted for compatibility; HA is per cluster (fencing)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const o = await need(ctx, 'serviceOfferings').create(ctx.caller, {
      name: read.required(read.str(p, 'name')),
      ...opt('displayText', read.str(p, 'displaytext')),
      cpus: read.required(read.num(p, 'cpunumber')),
      memoryBytes: read.required(read.num(p, 'memory')) * MiB,
    });
    return body({ serviceoffering: r.serviceOffering(o) });
  },
};

export const updateServiceOffering: Command = {
  name: 'updateServiceOffering',
  description: 'Renames a service offering or changes its display text (CPU and memory stay)',
  isAsync: false,
  entity: 'serviceoffering',
  params: { id: { type: 'uuid', required: true, description: 'the offering' }, ...UPDATE_PARAMS },
  async handler(ctx) {
    const id = read.required(read.str(ctx.params, 'id'));
    const o = await need(ctx, 'serviceOfferings').update(ctx.caller, id, updateOf(ctx.params));
    return body({ serviceoffering: r.serviceOffering(o) });
  },
};
