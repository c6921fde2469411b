import { StrataError } from '@strata/core';
import type { ResourceKind } from '../../services/resource-limits.js';
import { body, need, type Command } from '../command.js';
import type { CsLimits } from '../deps.js';
import { read, type Parsed } from '../params.js';
import type { CsObject } from '../serialize.js';

/**
 * CloudStack's resource types (numbers and names) where it has one; Strata's own from 100
 * (docs/cloudstack-api.md, "Resource limits"). CloudStack counts primary storage in GiB.
 */
export const CS_LIMIT_TYPES: ReadonlyArray<{ kind: ResourceKind; type: number; name: string; unit: number }> =
  [
    { kind: 'vm', type: 0, name: 'user_vm', unit: 1 },
    { kind: 'volume', type: 2, name: 'volume', unit: 1 },
    { kind: 'volume-snapshot', type: 3, name: 'snapshot', unit: 1 },
    { kind: 'primary-storage-bytes', type: 10, name: 'primary_storage', unit: 2 ** 30 },
    { kind: 'vm-snapshot', type: 100, name: 'vm_snapshot', unit: 1 },
    { kind: 'min-iops', type: 101, name: 'min_iops', unit: 1 },
  ];

const typeOf = (kind: ResourceKind) => CS_LIMIT_TYPES.find((t) => t.kind === kind)!;

/** A limit in CloudStack's unit: -1 stays -1; a byte limit is shown in whole GiB, rounded up. */
export const inUnit = (value: number, unit: number): number => (value < 0 ? value : Math.ceil(value / unit));

function requestedType(
  command: string,
  p: Parsed,
  required: boolean,
): (typeof CS_LIMIT_TYPES)[number] | undefined {
  const n = read.num(p, 'resourcetype');
  const name = read.str(p, 'resourcetypename');
  if (n === undefined && name === undefined) {
    if (required) throw new StrataError('CLOUDSTACK_MISSING_PARAMETER', { command, param: 'resourcetype' });
    return undefined;
  }
  const found = CS_LIMIT_TYPES.find((t) => (n !== undefined ? t.type === n : t.name === name));
  if (!found)
    throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
      command,
      param: n !== undefined ? 'resourcetype' : 'resourcetypename',
      value: String(n ?? name).slice(0, 200),
      reason: `Strata limits ${CS_LIMIT_TYPES.map((t) => `${t.type} (${t.name})`).join(', ')}`,
    });
  return found;
}

function limitRow(a: CsLimits, kind: ResourceKind, max: number): CsObject {
  const t = typeOf(kind);
  return {
    account: a.accountName,
    accountid: a.accountId,
    domain: 'ROOT',
    domainid: 'ROOT',
    resourcetype: String(t.type),
    resourcetypename: t.name,
    max: inUnit(max, t.unit),
  };
}

const ACCOUNT = {
  account: { type: 'string', description: 'the account by name (default: the caller’s own)' },
  domainid: { type: 'uuid', description: 'accepted for compatibility (Strata has one domain)' },
  projectid: { type: 'uuid', description: 'accepted for compatibility (Strata has no projects)' },
} as const;

export const listResourceLimits: Command = {
  name: 'listResourceLimits',
  description: 'Lists an account’s resource limits (max -1: unlimited)',
  isAsync: false,
  entity: 'resourcelimit',
  params: {
    ...ACCOUNT,
    id: { type: 'long', description: 'accepted for compatibility' },
    resourcetype: {
      type: 'integer',
      description:
        '0 VMs, 2 volumes, 3 snapshots, 10 primary storage (GiB), 100 VM snapshots, 101 minimum IOPS',
    },
    resourcetypename: {
      type: 'string',
      description: 'user_vm, volume, snapshot, primary_storage, vm_snapshot, min_iops',
    },
  },
  async handler(ctx) {
    const p = ctx.params;
    const t = requestedType('listResourceLimits', p, false);
    const a = await need(ctx, 'resourceLimits').list(ctx.caller, read.str(p, 'account'), t?.kind);
    const rows = a.limits.map((l) => limitRow(a, l.kind, l.max));
    return body({ count: rows.length, resourcelimit: rows });
  },
};

export const updateResourceLimit: Command = {
  name: 'updateResourceLimit',
  description: 'Sets one resource limit of an account (operators; max -1: unlimited)',
  isAsync: false,
  entity: 'resourcelimit',
  params: {
    ...ACCOUNT,
    resourcetype: { type: 'integer', required: true, description: 'as listResourceLimits' },
    max: { type: 'long', description: 'the limit, -1 for unlimited (primary storage in GiB); default -1' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const t = requestedType('updateResourceLimit', p, true)!;
    const max = read.num(p, 'max') ?? -1;
    if (!Number.isSafeInteger(max) || max < -1 || (max > 0 && max * t.unit > Number.MAX_SAFE_INTEGER))
      throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
        command: 'updateResourceLimit',
        param: 'max',
        value: String(max),
        reason: 'must be a whole number, -1 for unlimited',
      });
    const a = await need(ctx, 'resourceLimits').set(
      ctx.caller,
      read.str(p, 'account'),
      t.kind,
      max < 0 ? -1 : max * t.unit,
    );
    return body({ resourcelimit: limitRow(a, t.kind, a.limits[0]?.max ?? max) });
  },
};
