import type { FastifyInstance } from 'fastify';
import { actorOf } from '../api/hooks.js';
import { spec } from '../api/route-kit.js';
import { query, schemas } from '../api/schemas.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import type { ServerContext } from '../server.js';
import { requireAdmin } from '../services/actor.js';
import { scanOrphans } from './collector.js';
import { ORPHANS_COLLECT, ORPHANS_LOCK } from './job.js';

const orphanSchema = {
  type: 'object',
  properties: {
    kind: {
      type: 'string',
      enum: [
        'file',
        'backend-snapshot',
        'backend-volume',
        'access-grant',
        'vm-snapshot-state',
        'backend-vm-snapshot-part',
      ],
    },
    ref: { type: 'string' },
    poolId: { type: ['string', 'null'] },
    volumeId: { type: ['string', 'null'] },
    hostId: { type: ['string', 'null'] },
    vmSnapshotId: { type: ['string', 'null'] },
    reason: { type: 'string' },
  },
  required: ['kind', 'ref', 'reason'],
};

/** GET /v1/orphans (the report) and POST /v1/orphans/collect (a job); administrators only. */
export function orphanRoutes(app: FastifyInstance, ctx: ServerContext, deps: () => OrchestrationDeps): void {
  app.get(
    '/v1/orphans',
    {
      schema: spec(
        'orphans',
        'Report what nothing in the database references (files, backend snapshots, grants...)',
        {
          querystring: query(),
          response: {
            200: {
              type: 'object',
              properties: {
                orphans: { type: 'array', items: orphanSchema },
                warnings: { type: 'array', items: { type: 'string' } },
                scannedAt: { type: 'string' },
              },
              required: ['orphans', 'warnings', 'scannedAt'],
            },
          },
        },
      ),
    },
    async (req) => {
      requireAdmin(actorOf(req), 'Looking for orphans');
      return scanOrphans(deps(), { signal: new AbortController().signal, requestId: req.id });
    },
  );
  app.post(
    '/v1/orphans/collect',
    {
      schema: spec('orphans', 'Remove every orphan the collector finds (job; its result lists what went)', {
        querystring: query(),
        response: {
          202: { type: 'object', properties: { job: schemas.job }, required: ['job'] },
        },
      }),
    },
    async (req, reply) => {
      const actor = actorOf(req);
      requireAdmin(actor, 'Collecting orphans');
      const job = await ctx.services.jobs.submit(actor, ORPHANS_COLLECT, {}, { lockKey: ORPHANS_LOCK });
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send({ job });
    },
  );
}
