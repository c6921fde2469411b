import type { FastifyInstance } from 'fastify';
import type { CreateVmSnapshotInput } from '../../services/index.js';
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
  str,
} from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };

/** VM snapshots: CloudStack's createVMSnapshot / revertToVMSnapshot / deleteVMSnapshot as jobs. */
export function vmSnapshotRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { vmSnapshots, operations } = services;
  app.get<Filter>(
    '/v1/vm-snapshots',
    {
      schema: spec('vm-snapshots', 'List VM snapshots (flat; parentId links the tree)', {
        querystring: listQuery({
          accountId: str,
          vmId: str,
          state: str,
          name: str,
          parentId: str,
          live: { type: 'boolean', description: 'true: leave out Removed snapshots' },
        }),
        response: { 200: pageOf(schemas.vmSnapshot) },
      }),
    },
    async (req) => vmSnapshots.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreateVmSnapshotInput }>(
    '/v1/vm-snapshots',
    {
      schema: spec('vm-snapshots', 'Snapshot a VM across all its disks (job)', {
        querystring: query(),
        body: obj(
          {
            vmId: id,
            name,
            description: { type: 'string', maxLength: 1024 },
            snapshotMemory: bool,
            quiesce: { type: 'string', enum: ['auto', 'guest', 'hypervisor', 'pause', 'none'] },
          },
          ['vmId', 'name'],
        ),
        response: { 202: accepted(schemas.vmSnapshot) },
      }),
    },
    async (req, reply) => sendAccepted(reply, await operations.createVmSnapshot(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/vm-snapshots/:id',
    {
      schema: spec('vm-snapshots', 'Read a VM snapshot', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.vmSnapshot },
      }),
    },
    async (req) => vmSnapshots.get(actorOf(req), req.params.id),
  );
  app.delete<IdReq>(
    '/v1/vm-snapshots/:id',
    {
      schema: spec('vm-snapshots', 'Delete a VM snapshot (job)', {
        params: idParams,
        querystring: query(),
        response: { 202: accepted(schemas.vmSnapshot) },
      }),
    },
    async (req, reply) => sendAccepted(reply, await operations.deleteVmSnapshot(actorOf(req), req.params.id)),
  );
  app.post<IdReq & { Querystring: { restart?: boolean } }>(
    '/v1/vm-snapshots/:id/revert',
    {
      schema: spec('vm-snapshots', 'Revert the VM to this snapshot (job); a running VM needs ?restart=true', {
        params: idParams,
        querystring: query({ restart: bool }),
        response: { 202: accepted(schemas.vmSnapshot) },
      }),
    },
    async (req, reply) =>
      sendAccepted(
        reply,
        await operations.revertVmSnapshot(actorOf(req), req.params.id, {
          restart: req.query.restart ?? false,
        }),
      ),
  );
}
