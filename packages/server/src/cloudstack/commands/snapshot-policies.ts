import { StrataError } from '@strata/core';
import type { SnapshotSchedule } from '../../schedules/service.js';
import { INTERVAL_TYPES } from '../../schedules/slots.js';
import { body, listBody, need, type Command } from '../command.js';
import { read, type Parsed } from '../params.js';
import type { CsObject } from '../serialize.js';

/** CloudStack answers the interval as its ordinal (HOURLY 0 ... MONTHLY 3); Ansible compares that. */
function policy(s: SnapshotSchedule): CsObject {
  return {
    id: s.id,
    volumeid: s.targetId,
    intervaltype: INTERVAL_TYPES.indexOf(s.intervalType),
    schedule: s.schedule,
    timezone: s.timezone,
    maxsnaps: s.maxSnaps,
    fordisplay: true,
    nextrun: s.nextRunAt,
  };
}

/** Takes HOURLY..MONTHLY in any case, or CloudStack's ordinal 0-3. */
function intervalOf(v: string): string {
  return /^[0-3]$/.test(v) ? INTERVAL_TYPES[Number(v)]! : v;
}

const idList = (p: Parsed, k: string): string[] => {
  const v = p[k];
  return Array.isArray(v) ? (v as string[]) : [];
};

export const createSnapshotPolicy: Command = {
  name: 'createSnapshotPolicy',
  description:
    "Snapshots a volume on a schedule (a volume's second policy of one interval replaces the first)",
  isAsync: false,
  entity: 'snapshotpolicy',
  responseName: 'createsnapshotpolicyresponse',
  params: {
    volumeid: { type: 'uuid', required: true, description: 'the volume' },
    intervaltype: { type: 'string', required: true, description: 'HOURLY, DAILY, WEEKLY or MONTHLY' },
    schedule: {
      type: 'string',
      required: true,
      description: 'HOURLY MM; DAILY MM:HH; WEEKLY MM:HH:DD (1-7, Sunday 1); MONTHLY MM:HH:DD (1-28)',
    },
    timezone: { type: 'string', required: true, description: 'an IANA time zone, e.g. Europe/Paris' },
    maxsnaps: { type: 'integer', required: true, description: 'how many of its snapshots to keep' },
    fordisplay: { type: 'boolean', description: 'accepted for compatibility' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const s = await need(ctx, 'snapshotPolicies').create(ctx.caller, {
      kind: 'volume',
      targetId: read.required(read.str(p, 'volumeid')),
      intervalType: intervalOf(read.required(read.str(p, 'intervaltype'))),
      schedule: read.required(read.str(p, 'schedule')),
      timezone: read.required(read.str(p, 'timezone')),
      maxSnaps: read.required(read.num(p, 'maxsnaps')),
    });
    return body({ snapshotpolicy: policy(s) });
  },
};

export const listSnapshotPolicies: Command = {
  name: 'listSnapshotPolicies',
  description: "Lists a volume's snapshot policies, or one by id",
  isAsync: false,
  entity: 'snapshotpolicy',
  params: {
    volumeid: { type: 'uuid', description: 'policies of this volume' },
    id: { type: 'uuid', description: 'the policy' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const volumeId = read.str(p, 'volumeid');
    const id = read.str(p, 'id');
    const items = await need(ctx, 'snapshotPolicies').list(ctx.caller, {
      kind: 'volume',
      ...(volumeId && { targetId: volumeId }),
      ...(id && { id }),
    });
    return listBody('snapshotpolicy', items.length, items.map(policy));
  },
};

export const updateSnapshotPolicy: Command = {
  name: 'updateSnapshotPolicy',
  description: 'Changes a snapshot policy (Strata also takes schedule, timezone and maxsnaps here)',
  isAsync: false,
  entity: 'snapshotpolicy',
  params: {
    id: { type: 'uuid', required: true, description: 'the policy' },
    schedule: { type: 'string', description: 'the new slot, in the format of its interval' },
    timezone: { type: 'string', description: 'the new time zone' },
    maxsnaps: { type: 'integer', description: 'how many to keep' },
    fordisplay: { type: 'boolean', description: 'accepted for compatibility' },
    customid: { type: 'string', description: 'accepted for compatibility' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const schedule = read.str(p, 'schedule');
    const timezone = read.str(p, 'timezone');
    const maxSnaps = read.num(p, 'maxsnaps');
    const s = await need(ctx, 'snapshotPolicies').update(ctx.caller, read.required(read.str(p, 'id')), {
      ...(schedule !== undefined && { schedule }),
      ...(timezone !== undefined && { timezone }),
      ...(maxSnaps !== undefined && { maxSnaps }),
    });
    return body({ snapshotpolicy: policy(s) });
  },
};

export const deleteSnapshotPolicies: Command = {
  name: 'deleteSnapshotPolicies',
  description: 'Deletes snapshot policies (the snapshots they made stay)',
  isAsync: false,
  params: {
    id: { type: 'uuid', description: 'the policy' },
    ids: { type: 'list', description: 'policies, comma-separated' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const one = read.str(p, 'id');
    const ids = [...(one ? [one] : []), ...idList(p, 'ids')];
    if (ids.length === 0)
      throw new StrataError('INVALID_ARGUMENT', { field: 'id', reason: 'give id or ids' });
    const policies = need(ctx, 'snapshotPolicies');
    // Only volume policies are CloudStack's: a VM schedule's id is not found here.
    for (const id of ids) {
      if ((await policies.list(ctx.caller, { kind: 'volume', id })).length === 0)
        throw new StrataError('NOT_FOUND', { kind: 'snapshot policy', id });
    }
    await policies.delete(ctx.caller, ids);
    return body({ success: true });
  },
};
