import type { FastifyInstance } from 'fastify';
import { actorOf } from '../api/hooks.js';
import { spec } from '../api/route-kit.js';
import { entity, idParams, int, nstr, qosSchema, query, str } from '../api/schemas.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import type { ServerContext } from '../server.js';
import { volumeIops } from './volume-iops.js';

const num = { type: 'number' };
const point = entity('IopsPoint', { at: int, readIops: num, writeIops: num, iops: num });
const answer = entity('VolumeIops', {
  volumeId: str,
  vmId: nstr,
  hostId: nstr,
  deviceName: nstr,
  qos: qosSchema,
  periodMs: int,
  windowMs: int,
  points: { type: 'array', items: point },
  reason: nstr,
});

/** GET /v1/volumes/{id}/iops: scoped like every volume read, fetched from the host's agent on demand. */
export function iopsRoutes(app: FastifyInstance, ctx: ServerContext, deps: () => OrchestrationDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/volumes/:id/iops',
    {
      schema: spec(
        'volumes',
        "Recent IOPS of the volume as its VM's host sampled them (a few minutes), with its QoS",
        { params: idParams, querystring: query(), response: { 200: answer } },
      ),
    },
    async (req) => volumeIops(deps(), await ctx.services.volumes.get(actorOf(req), req.params.id)),
  );
}
