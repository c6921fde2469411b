import { StrataError } from '@strata/core';
import { body, need, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';
import { splitTags } from './infra.js';

/**
 * updateStoragePool: Strata changes a pool's storage tags here (the REST API's PATCH
 * /v1/storage-pools/:id). A capacity is where the storage is measured, not a setting: one equal to
 * the pool's is accepted (tools send what they declare), another refused, as is disabling.
 */
export const updateStoragePool: Command = {
  name: 'updateStoragePool',
  description:
    "Changes a storage pool's storage tags (operator only); capacities are accepted only unchanged",
  isAsync: false,
  entity: 'storagepool',
  params: {
    id: { type: 'uuid', required: true, description: 'the pool' },
    tags: { type: 'string', description: 'the storage tags, comma-separated (empty: none)' },
    capacitybytes: { type: 'long', description: "accepted when equal to the pool's capacity" },
    capacityiops: { type: 'long', description: "accepted when equal to the pool's IOPS capacity" },
    enabled: { type: 'boolean', description: 'accepted when true (maintenance takes a pool out of use)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const id = read.required(read.str(p, 'id'));
    const pools = need(ctx, 'pools');
    const current = await pools.get(ctx.caller, id);
    const same = (param: string, have: number) => {
      const want = read.num(p, param);
      if (want !== undefined && want !== have)
        throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
          command: 'updateStoragePool',
          param,
          value: String(want),
          reason: `Strata does not change a pool's capacity here (it is ${have})`,
        });
    };
    same('capacitybytes', current.capacityBytes);
    same('capacityiops', current.capacityIops);
    if (!read.bool(p, 'enabled', true))
      throw new StrataError('CLOUDSTACK_INVALID_PARAMETER', {
        command: 'updateStoragePool',
        param: 'enabled',
        value: 'false',
        reason: 'a pool goes out of use by maintenance (REST: POST /v1/storage-pools/:id/maintenance)',
      });
    const tags = splitTags(read.str(p, 'tags'));
    const pool = tags === undefined ? current : await pools.setTags(ctx.caller, id, tags);
    return body({ storagepool: r.storagePool(pool) });
  },
};
