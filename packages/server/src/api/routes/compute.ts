import type { FastifyInstance } from 'fastify';
import type { CreateVmInput, DeployVmInput } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, sendAccepted, spec } from '../route-kit.js';
import {
  accepted,
  anyJson,
  bool,
  id,
  idParams,
  listQuery,
  name,
  nstr,
  obj,
  pageOf,
  query,
  schemas,
  str,
} from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };

/** VMs: records, start/stop as jobs, and the VM-snapshot tree. */
export function computeRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { vms, vmSnapshots, operations, vmLifecycle } = services;

  app.get<Filter>(
    '/v1/vms',
    {
      schema: spec('vms', 'List VMs', {
        querystring: listQuery({ accountId: str, state: str, hostId: str, name: str }),
        response: { 200: pageOf(schemas.vm) },
      }),
    },
    async (req) => vms.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreateVmInput }>(
    '/v1/vms',
    {
      schema: spec('vms', 'Create a VM record (Stopped)', {
        querystring: query(),
        body: obj(
          {
            name,
            templateId: { type: ['string', 'null'] },
            hostId: { type: ['string', 'null'] },
            cpus: { type: 'integer' },
            memoryBytes: { type: 'integer' },
            accountId: id,
          },
          ['name'],
        ),
        response: { 201: schemas.vm },
      }),
    },
    async (req, reply) => reply.code(201).send(await vms.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/vms/:id',
    {
      schema: spec('vms', 'Read a VM', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.vm },
      }),
    },
    async (req) => vms.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: { displayName?: string | null } }>(
    '/v1/vms/:id',
    {
      schema: spec('vms', "Change a VM's display name (null or empty: the name shows)", {
        params: idParams,
        querystring: query(),
        body: obj({ displayName: nstr }),
        response: { 200: schemas.vm },
      }),
    },
    async (req) => vms.update(actorOf(req), req.params.id, req.body),
  );
  app.delete<IdReq & { Querystring: { expunge?: boolean } }>(
    '/v1/vms/:id',
    {
      schema: spec(
        'vms',
        'Destroy a VM (job; a running one is stopped first). DATA volumes are detached and kept; without expunge it is recoverable until its retention ends',
        {
          params: idParams,
          querystring: query({ expunge: bool }),
          response: { 202: accepted(schemas.vm) },
        },
      ),
    },
    async (req, reply) =>
      sendAccepted(
        reply,
        await vmLifecycle.destroy(actorOf(req), req.params.id, { expunge: req.query.expunge ?? false }),
      ),
  );
  app.post<IdReq>(
    '/v1/vms/:id/recover',
    {
      schema: spec('vms', 'Recover a Destroyed VM (Stopped again; its detached DATA volumes stay detached)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.vm },
      }),
    },
    async (req) => vmLifecycle.recover(actorOf(req), req.params.id),
  );
  app.post<IdReq>(
    '/v1/vms/:id/expunge',
    {
      schema: spec(
        'vms',
        'Expunge a Destroyed VM now (job): its definition, ROOT volume, VM snapshots and memory files go',
        { params: idParams, querystring: query(), response: { 202: accepted(schemas.vm) } },
      ),
    },
    async (req, reply) => sendAccepted(reply, await vmLifecycle.expunge(actorOf(req), req.params.id)),
  );
  app.post<{ Body: DeployVmInput }>(
    '/v1/vms/deploy',
    {
      schema: spec(
        'vms',
        'Deploy a VM from a template: ROOT volume cloned by the pool, then started (one job)',
        {
          querystring: query(),
          body: obj(
            {
              name,
              templateId: id,
              poolId: id,
              hostId: id,
              cpus: { type: 'integer' },
              memoryBytes: { type: 'integer' },
              serviceOfferingId: id,
              rootSizeBytes: { type: 'integer' },
              start: bool,
            },
            ['name', 'templateId'],
          ),
          response: { 202: accepted(schemas.vm) },
        },
      ),
    },
    async (req, reply) => sendAccepted(reply, await operations.deployVm(actorOf(req), req.body)),
  );
  app.post<IdReq & { Body: { hostId?: string } | undefined }>(
    '/v1/vms/:id/start',
    {
      schema: spec('vms', 'Start a VM (job) on the host placement chooses, or on hostId (admins)', {
        params: idParams,
        querystring: query(),
        body: obj({ hostId: id }),
        response: { 202: accepted(schemas.vm) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.startVm(actorOf(req), req.params.id, req.body?.hostId)),
  );
  app.get<IdReq>(
    '/v1/vms/:id/migration-hosts',
    {
      schema: spec(
        'vms',
        'Every other host, and whether a live migration of the VM could go there (admins)',
        {
          params: idParams,
          querystring: query(),
          response: {
            200: {
              type: 'array',
              items: obj({ hostId: str, suitable: bool, reason: nstr }, ['hostId', 'suitable', 'reason']),
            },
          },
        },
      ),
    },
    async (req) => operations.migrationHosts(actorOf(req), req.params.id),
  );
  app.post<IdReq & { Body: { hostId?: string } | undefined }>(
    '/v1/vms/:id/migrate',
    {
      schema: spec('vms', 'Live-migrate a running VM (job, admins) to hostId, or where placement chooses', {
        params: idParams,
        querystring: query(),
        body: obj({ hostId: id }),
        response: { 202: accepted(schemas.vm) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.migrateVm(actorOf(req), req.params.id, req.body?.hostId)),
  );
  app.post<IdReq & { Body: { forced?: boolean } | undefined }>(
    '/v1/vms/:id/stop',
    {
      schema: spec('vms', 'Stop a VM (job)', {
        params: idParams,
        querystring: query(),
        body: obj({ forced: bool }),
        response: { 202: accepted(schemas.vm) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.stopVm(actorOf(req), req.params.id, req.body?.forced ?? false)),
  );
  app.get<IdReq>(
    '/v1/vms/:id/snapshot-tree',
    {
      schema: spec('vm-snapshots', "A VM's snapshots as a tree, with the current pointer", {
        params: idParams,
        querystring: query(),
        response: {
          200: obj({ vmId: str, currentId: nstr, roots: { type: 'array', items: anyJson } }, [
            'vmId',
            'currentId',
            'roots',
          ]),
        },
      }),
    },
    async (req) => vmSnapshots.tree(actorOf(req), req.params.id),
  );
}
