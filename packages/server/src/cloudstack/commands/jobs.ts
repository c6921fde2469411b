import { isStrataError } from '@strata/core';
import {
  body,
  listBody,
  listQuery,
  need,
  PAGE_PARAMS,
  type Command,
  type CommandContext,
} from '../command.js';
import type { JobView } from '../deps.js';
import { csCodes } from '../errors.js';
import { read } from '../params.js';
import * as r from '../render.js';
import type { CsObject } from '../serialize.js';

/**
 * The object a finished job answers, read now from the service: the resource as it is after the
 * job, or `{success: true}` for one that removed it.
 */
async function jobResult(ctx: CommandContext, j: JobView): Promise<CsObject> {
  if (/delete|remove|expunge/i.test(j.kind) || !j.resourceId) return { success: true };
  const id = j.resourceId;
  try {
    switch (j.resourceType) {
      case 'VirtualMachine':
        return { virtualmachine: r.virtualMachine(await need(ctx, 'vms').get(ctx.caller, id)) };
      case 'Volume':
        return {
          volume: r.volume(await need(ctx, 'volumes').get(ctx.caller, id), ctx.caller.role === 'admin'),
        };
      case 'Snapshot':
        return { snapshot: r.snapshot(await need(ctx, 'snapshots').get(ctx.caller, id)) };
      case 'VmSnapshot':
        return { vmsnapshot: r.vmSnapshot(await need(ctx, 'vmSnapshots').get(ctx.caller, id)) };
      case 'StoragePool':
        return { storagepool: r.storagePool(await need(ctx, 'pools').get(ctx.caller, id)) };
      case 'Host':
        return { host: r.host(await need(ctx, 'hosts').get(ctx.caller, id)) };
      case 'None':
        return { success: true };
    }
  } catch (err) {
    if (isStrataError(err, 'NOT_FOUND')) return { success: true };
    throw err;
  }
}

export async function renderJob(ctx: CommandContext, j: JobView): Promise<CsObject> {
  const base = r.asyncJob(j, j.kind);
  const status = r.jobStatus(j);
  if (status === 0) return base;
  if (status === 2) {
    const error = j.error ?? { code: 'INTERNAL', status: 500, message: `job ${j.id} failed` };
    const [errorcode, cserrorcode] = csCodes(error.code, error.status);
    return {
      ...base,
      jobresultcode: errorcode,
      jobresult: { errorcode, cserrorcode, errortext: error.message, stratacode: error.code },
    };
  }
  return { ...base, jobresult: await jobResult(ctx, j) };
}

export const queryAsyncJobResult: Command = {
  name: 'queryAsyncJobResult',
  description: 'Answers the state and result of an asynchronous job',
  isAsync: false,
  params: { jobid: { type: 'uuid', required: true, description: 'the job' } },
  async handler(ctx) {
    const j = await need(ctx, 'jobs').get(ctx.caller, read.required(read.str(ctx.params, 'jobid')));
    return body(await renderJob(ctx, j));
  },
};

export const listAsyncJobs: Command = {
  name: 'listAsyncJobs',
  description: 'Lists asynchronous jobs',
  isAsync: false,
  entity: 'asyncjobs',
  params: { ...PAGE_PARAMS },
  async handler(ctx) {
    const q = listQuery(ctx.params, {});
    const page = await need(ctx, 'jobs').list(ctx.caller, q);
    const items = await Promise.all(page.items.map((j) => renderJob(ctx, j)));
    return listBody('asyncjobs', page.total, items);
  },
};
