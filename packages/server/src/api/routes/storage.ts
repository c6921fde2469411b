import type { FastifyInstance } from 'fastify';
import type { CreateVolumeInput, QosInput } from '../../services/index.js';
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
  nstr,
  obj,
  pageOf,
  qosInput,
  query,
  schemas,
  str,
} from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };

/** Volumes and volume snapshots: records are read at once, changes run as jobs (202). */
export function storageRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { volumes, volumeSnapshots, operations } = services;

  app.get<Filter>(
    '/v1/volumes',
    {
      schema: spec('volumes', 'List volumes', {
        querystring: listQuery({
          accountId: str,
          state: str,
          poolId: str,
          vmId: str,
          type: { type: 'string', enum: ['ROOT', 'DATA'] },
          name: str,
        }),
        response: { 200: pageOf(schemas.volume) },
      }),
    },
    async (req) => volumes.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{
    Body: Omit<CreateVolumeInput, 'poolId'> & { poolId?: string; zoneId?: string; snapshotId?: string };
  }>(
    '/v1/volumes',
    {
      schema: spec(
        'volumes',
        'Create a volume (empty, or from a volume snapshot or one disk of a VM snapshot): validated and admitted at once, built by a job',
        {
          querystring: query(),
          body: obj(
            {
              name,
              poolId: id,
              zoneId: id,
              sizeBytes: { type: 'integer' },
              offeringId: { type: ['string', 'null'] },
              qos: { anyOf: [qosInput, { type: 'null' }] },
              type: { type: 'string', enum: ['ROOT', 'DATA'] },
              vmId: { type: ['string', 'null'] },
              accountId: id,
              snapshotId: { type: 'string', minLength: 1, maxLength: 200 },
            },
            ['name'],
          ),
          response: { 202: accepted(schemas.volume) },
        },
      ),
    },
    async (req, reply) => sendAccepted(reply, await operations.createVolume(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/volumes/:id',
    {
      schema: spec('volumes', 'Read a volume', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.volume },
      }),
    },
    async (req) => volumes.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: { displayName?: string | null } }>(
    '/v1/volumes/:id',
    {
      schema: spec('volumes', "Change a volume's display name (null or empty: the name shows)", {
        params: idParams,
        querystring: query(),
        body: obj({ displayName: nstr }),
        response: { 200: schemas.volume },
      }),
    },
    async (req) => volumes.update(actorOf(req), req.params.id, req.body),
  );
  app.delete<IdReq>(
    '/v1/volumes/:id',
    {
      schema: spec('volumes', 'Delete a detached volume (job)', {
        params: idParams,
        querystring: query(),
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) => sendAccepted(reply, await operations.deleteVolume(actorOf(req), req.params.id)),
  );
  app.post<IdReq & { Body: { vmId: string } }>(
    '/v1/volumes/:id/attach',
    {
      schema: spec('volumes', 'Attach to a VM (job)', {
        params: idParams,
        querystring: query(),
        body: obj({ vmId: id }, ['vmId']),
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.attachVolume(actorOf(req), req.params.id, req.body.vmId)),
  );
  app.post<IdReq>(
    '/v1/volumes/:id/detach',
    {
      schema: spec('volumes', 'Detach from its VM (job)', {
        params: idParams,
        querystring: query(),
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) => sendAccepted(reply, await operations.detachVolume(actorOf(req), req.params.id)),
  );
  app.post<IdReq & { Body: { sizeBytes: number } }>(
    '/v1/volumes/:id/resize',
    {
      schema: spec('volumes', 'Grow a volume (job)', {
        params: idParams,
        querystring: query(),
        body: obj({ sizeBytes: { type: 'integer' } }, ['sizeBytes']),
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.resizeVolume(actorOf(req), req.params.id, req.body.sizeBytes)),
  );
  app.post<IdReq & { Body: { poolId: string } }>(
    '/v1/volumes/:id/migrate',
    {
      schema: spec('volumes', 'Move a volume to another pool, its guest running or not (job; admins)', {
        params: idParams,
        querystring: query(),
        body: obj({ poolId: id }, ['poolId']),
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.migrateVolume(actorOf(req), req.params.id, req.body.poolId)),
  );
  app.put<IdReq & { Body: QosInput }>(
    '/v1/volumes/:id/qos',
    {
      schema: spec('volumes', 'Change QoS: admitted and recorded at once, applied and read back by a job', {
        params: idParams,
        querystring: query(),
        body: qosInput,
        response: { 202: accepted(schemas.volume) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.setVolumeQos(actorOf(req), req.params.id, req.body)),
  );

  app.get<Filter>(
    '/v1/volume-snapshots',
    {
      schema: spec('volume-snapshots', 'List volume snapshots', {
        querystring: listQuery({
          accountId: str,
          volumeId: str,
          vmSnapshotId: str,
          state: str,
          name: str,
          live: { type: 'boolean', description: 'true: leave out Deleted snapshots' },
        }),
        response: { 200: pageOf(schemas.volumeSnapshot) },
      }),
    },
    async (req) => volumeSnapshots.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: { volumeId: string; name: string; quiesce?: boolean } }>(
    '/v1/volume-snapshots',
    {
      schema: spec('volume-snapshots', 'Snapshot a volume (job)', {
        querystring: query(),
        body: obj({ volumeId: id, name, quiesce: bool }, ['volumeId', 'name']),
        response: { 202: accepted(schemas.volumeSnapshot) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.createVolumeSnapshot(actorOf(req), req.body.volumeId, req.body)),
  );
  app.post<{ Body: { volumeIds: string[]; name: string } }>(
    '/v1/volume-snapshots/group',
    {
      schema: spec(
        'volume-snapshots',
        'One consistent snapshot of several volumes (job): one group snapshot per backend, one guest freeze',
        {
          querystring: query(),
          body: obj({ volumeIds: { type: 'array', items: id, maxItems: 64 }, name }, ['volumeIds', 'name']),
          response: {
            202: accepted({
              type: 'object',
              properties: {
                id: str,
                vmId: { type: ['string', 'null'] },
                snapshots: { type: 'array', items: schemas.volumeSnapshot },
              },
              required: ['id', 'vmId', 'snapshots'],
            }),
          },
        },
      ),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.createVolumeSnapshotGroup(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/volume-snapshots/:id',
    {
      schema: spec('volume-snapshots', 'Read a volume snapshot', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.volumeSnapshot },
      }),
    },
    async (req) => volumeSnapshots.get(actorOf(req), req.params.id),
  );
  app.delete<IdReq>(
    '/v1/volume-snapshots/:id',
    {
      schema: spec('volume-snapshots', 'Delete a volume snapshot (job)', {
        params: idParams,
        querystring: query(),
        response: { 202: accepted(schemas.volumeSnapshot) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.deleteVolumeSnapshot(actorOf(req), req.params.id)),
  );
  app.post<IdReq>(
    '/v1/volume-snapshots/:id/revert',
    {
      schema: spec('volume-snapshots', 'Revert its volume to this snapshot (job)', {
        params: idParams,
        querystring: query(),
        response: { 202: accepted(schemas.volumeSnapshot) },
      }),
    },
    async (req, reply) =>
      sendAccepted(reply, await operations.revertVolumeSnapshot(actorOf(req), req.params.id)),
  );
}
