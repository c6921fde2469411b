import { StrataError } from '@strata/core';
import type { TagResourceType } from '../../services/tags.js';
import { body, listBody, need, PAGE_PARAMS, tagRows, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';

/** CloudStack's resource type names for what Strata tags. */
export const CS_RESOURCE_TYPE: Readonly<Record<TagResourceType, string>> = {
  vm: 'UserVm',
  volume: 'Volume',
  'volume-snapshot': 'Snapshot',
  'vm-snapshot': 'VMSnapshot',
};

function resourceType(command: string, p: Parsed, required: true): TagResourceType;
function resourceType(command: string, p: Parsed, required: false): TagResourceType | undefined;
function resourceType(command: string, p: Parsed, required: boolean): TagResourceType | undefined {
  const raw = read.str(p, 'resourcetype');
  if (raw === undefined) {
    if (required) throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command, param: 'resourcetype' });
    return undefined;
  }
  const found = Object.entries(CS_RESOURCE_TYPE).find(([, cs]) => cs.toLowerCase() === raw.toLowerCase());
  if (!found)
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command,
      param: 'resourcetype',
      value: raw.slice(0, 200),
      reason: `Strata tags ${Object.values(CS_RESOURCE_TYPE).join(', ')}`,
    });
  return found[0] as TagResourceType;
}

const ids = (p: Parsed): string[] => {
  const v = p['resourceids'];
  return Array.isArray(v) ? (v as string[]) : [];
};

const TARGET = {
  resourceids: { type: 'list', required: true, description: 'the resources, comma-separated ids' },
  resourcetype: { type: 'string', required: true, description: 'UserVm, Volume, Snapshot or VMSnapshot' },
} as const;

/** Synchronous here (CloudStack runs a job): the answer waits for nothing but the database. */
export const createTags: Command = {
  name: 'createTags',
  description: 'Tags resources with key/value pairs (a key set again takes the new value)',
  isAsync: false,
  params: {
    ...TARGET,
    tags: { type: 'map', required: true, description: 'tags[0].key=k&tags[0].value=v' },
    customer: { type: 'string', description: 'accepted for compatibility' },
  },
  async handler(ctx) {
    const p = ctx.params;
    await need(ctx, 'tags').create(ctx.caller, {
      resourceType: resourceType('createTags', p, true),
      resourceIds: ids(p),
      tags: tagRows(p['tags']),
    });
    return body({ success: true });
  },
};

export const deleteTags: Command = {
  name: 'deleteTags',
  description: 'Removes tags from resources: the keys given (with a value, only if it matches), or all',
  isAsync: false,
  params: {
    ...TARGET,
    tags: { type: 'map', description: 'tags[0].key=k (value optional); none: every tag' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const rows = Array.isArray(p['tags'])
      ? (p['tags'] as ReadonlyArray<Readonly<Record<string, string>>>)
      : [];
    await need(ctx, 'tags').remove(ctx.caller, {
      resourceType: resourceType('deleteTags', p, true),
      resourceIds: ids(p),
      tags: rows
        .filter((r) => typeof r['key'] === 'string' && r['key'] !== '')
        .map((r) => ({ key: r['key'] ?? '', ...(r['value'] ? { value: r['value'] } : {}) })),
    });
    return body({ success: true });
  },
};

export const listTags: Command = {
  name: 'listTags',
  description: 'Lists resource tags (of the caller’s resources; an operator sees all)',
  isAsync: false,
  entity: 'tag',
  params: {
    ...PAGE_PARAMS,
    resourceid: { type: 'uuid', description: 'tags of this resource' },
    resourcetype: { type: 'string', description: 'UserVm, Volume, Snapshot or VMSnapshot' },
    key: { type: 'string', description: 'tags with this key' },
    value: { type: 'string', description: 'tags with this value' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const type = resourceType('listTags', p, false);
    const resourceId = read.str(p, 'resourceid');
    const key = read.str(p, 'key');
    const value = read.str(p, 'value');
    const tags = await need(ctx, 'tags').list(ctx.caller, {
      ...(type ? { resourceType: type } : {}),
      ...(resourceId ? { resourceId } : {}),
      ...(key ? { key } : {}),
      ...(value ? { value } : {}),
    });
    const page = typeof p['page'] === 'number' ? Math.max(1, p['page']) : 1;
    const size = Math.min(Math.max(typeof p['pagesize'] === 'number' ? p['pagesize'] : 500, 1), 500);
    return listBody(
      'tag',
      tags.length,
      tags.slice((page - 1) * size, page * size).map((t) => ({
        key: t.key,
        value: t.value,
        resourcetype: CS_RESOURCE_TYPE[t.resourceType],
        resourceid: t.resourceId,
        accountid: t.accountId,
        domain: 'ROOT',
      })),
    );
  },
};
