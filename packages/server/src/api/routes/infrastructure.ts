import type { FastifyInstance } from 'fastify';
import type { CreatePoolInput } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, sendAccepted, spec } from '../route-kit.js';
import {
  accepted,
  bool,
  id,
  idParams,
  listQuery,
  name,
  obj,
  pageOf,
  query,
  schemas,
  storageTags,
  str,
} from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };

/** Zones, clusters, hosts and storage pools. */
export function infrastructureRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { zones, clusters, hosts, pools } = services;
  const noContent = { 204: { type: 'null' } };

  app.get<Filter>(
    '/v1/zones',
    {
      schema: spec('zones', 'List zones', {
        querystring: listQuery({ name: str }),
        response: { 200: pageOf(schemas.zone) },
      }),
    },
    async (req) => zones.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: { name: string } }>(
    '/v1/zones',
    {
      schema: spec('zones', 'Create a zone (admin)', {
        querystring: query(),
        body: obj({ name }, ['name']),
        response: { 201: schemas.zone },
      }),
    },
    async (req, reply) => reply.code(201).send(await zones.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/zones/:id',
    {
      schema: spec('zones', 'Read a zone', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.zone },
      }),
    },
    async (req) => zones.get(actorOf(req), req.params.id),
  );
  app.delete<IdReq>(
    '/v1/zones/:id',
    {
      schema: spec('zones', 'Remove an empty zone (admin)', {
        params: idParams,
        querystring: query(),
        response: noContent,
      }),
    },
    async (req, reply) => {
      await zones.remove(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<Filter>(
    '/v1/clusters',
    {
      schema: spec('clusters', 'List clusters', {
        querystring: listQuery({ zoneId: str, name: str }),
        response: { 200: pageOf(schemas.cluster) },
      }),
    },
    async (req) => clusters.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: { zoneId: string; name: string } }>(
    '/v1/clusters',
    {
      schema: spec('clusters', 'Create a cluster (admin)', {
        querystring: query(),
        body: obj({ zoneId: id, name }, ['zoneId', 'name']),
        response: { 201: schemas.cluster },
      }),
    },
    async (req, reply) => reply.code(201).send(await clusters.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/clusters/:id',
    {
      schema: spec('clusters', 'Read a cluster', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.cluster },
      }),
    },
    async (req) => clusters.get(actorOf(req), req.params.id),
  );
  app.delete<IdReq>(
    '/v1/clusters/:id',
    {
      schema: spec('clusters', 'Remove an empty cluster (admin)', {
        params: idParams,
        querystring: query(),
        response: noContent,
      }),
    },
    async (req, reply) => {
      await clusters.remove(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<Filter>(
    '/v1/hosts',
    {
      schema: spec('hosts', 'List hosts (agents register them)', {
        querystring: listQuery({ clusterId: str, state: str, name: str }),
        response: { 200: pageOf(schemas.host) },
      }),
    },
    async (req) => hosts.list(actorOf(req), listArgs(req.query)),
  );
  app.get<IdReq>(
    '/v1/hosts/:id',
    {
      schema: spec('hosts', 'Read a host', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.host },
      }),
    },
    async (req) => hosts.get(actorOf(req), req.params.id),
  );
  app.post<IdReq>(
    '/v1/hosts/:id/maintenance',
    {
      schema: spec(
        'hosts',
        'Put a host into maintenance (job, admin): its running VMs live-migrate to other hosts first',
        {
          params: idParams,
          querystring: query(),
          response: { 202: accepted(schemas.host) },
        },
      ),
    },
    async (req, reply) => sendAccepted(reply, await hosts.prepareMaintenance(actorOf(req), req.params.id)),
  );
  app.post<IdReq>(
    '/v1/hosts/:id/fence',
    {
      schema: spec(
        'hosts',
        'Fence a lost host (job, admin): once its agent has been gone past the reconnect grace, its tgt ACLs and iSCSI connections go, its Ceph clients are blocklisted and its cephx caps revoked; its VMs are Stopped and may start elsewhere',
        {
          params: idParams,
          querystring: query(),
          response: { 202: accepted(schemas.host) },
        },
      ),
    },
    async (req, reply) => sendAccepted(reply, await hosts.fence(actorOf(req), req.params.id)),
  );
  app.delete<IdReq>(
    '/v1/hosts/:id/maintenance',
    {
      schema: spec('hosts', 'Take a host out of maintenance, or cancel its preparation (admin)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.host },
      }),
    },
    async (req) => hosts.apply(actorOf(req), req.params.id, 'ExitMaintenance'),
  );
  app.delete<IdReq>(
    '/v1/hosts/:id',
    {
      schema: spec('hosts', 'Remove a host (admin)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.host },
      }),
    },
    async (req) => hosts.apply(actorOf(req), req.params.id, 'Remove'),
  );

  app.get<Filter>(
    '/v1/storage-pools',
    {
      schema: spec(
        'storage-pools',
        'List storage pools with the capacity and minimum IOPS their volumes use',
        {
          querystring: listQuery({ zoneId: str, clusterId: str, provider: str, state: str, name: str }),
          response: { 200: pageOf(schemas.pool) },
        },
      ),
    },
    async (req) => pools.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreatePoolInput }>(
    '/v1/storage-pools',
    {
      schema: spec('storage-pools', 'Create a storage pool (admin)', {
        querystring: query(),
        body: obj(
          {
            name,
            zoneId: id,
            clusterId: { type: ['string', 'null'] },
            provider: { type: 'string', minLength: 1, maxLength: 64 },
            scope: { type: 'string', enum: ['host', 'cluster', 'zone'] },
            managed: bool,
            capacityBytes: { type: 'integer', minimum: 0 },
            capacityIops: { type: 'integer', minimum: 0 },
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            details: { type: 'object', additionalProperties: { type: 'string' } },
            storageTags,
          },
          ['name', 'zoneId', 'provider', 'scope', 'managed', 'capacityBytes', 'capacityIops', 'url'],
        ),
        response: { 201: schemas.pool },
      }),
    },
    async (req, reply) => reply.code(201).send(await pools.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/storage-pools/:id',
    {
      schema: spec('storage-pools', 'Read a storage pool', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.pool },
      }),
    },
    async (req) => pools.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: { storageTags: string[] } }>(
    '/v1/storage-pools/:id',
    {
      schema: spec('storage-pools', "Replace a pool's storage tags (admin): they steer new volumes only", {
        params: idParams,
        querystring: query(),
        body: obj({ storageTags }, ['storageTags']),
        response: { 200: schemas.pool },
      }),
    },
    async (req) => pools.setTags(actorOf(req), req.params.id, req.body.storageTags),
  );
  app.post<IdReq>(
    '/v1/storage-pools/:id/maintenance',
    {
      schema: spec('storage-pools', 'Put a pool into maintenance (admin)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.pool },
      }),
    },
    async (req) => pools.apply(actorOf(req), req.params.id, 'EnterMaintenance'),
  );
  app.delete<IdReq>(
    '/v1/storage-pools/:id/maintenance',
    {
      schema: spec('storage-pools', 'Take a pool out of maintenance (admin)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.pool },
      }),
    },
    async (req) => pools.apply(actorOf(req), req.params.id, 'ExitMaintenance'),
  );
  app.delete<IdReq>(
    '/v1/storage-pools/:id',
    {
      schema: spec('storage-pools', 'Remove a pool that holds no live volumes (admin)', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.pool },
      }),
    },
    async (req) => pools.remove(actorOf(req), req.params.id),
  );
}
