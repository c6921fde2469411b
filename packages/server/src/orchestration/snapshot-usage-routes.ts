import type { FastifyInstance } from 'fastify';
import { actorOf } from '../api/hooks.js';
import { spec } from '../api/route-kit.js';
import { idParams, obj, query, str } from '../api/schemas.js';

type Schema = Record<string, unknown>;
import { vmSnapshotSize, volumeSnapshotSize, type UsageDeps } from './snapshot-usage.js';

const size: Record<string, Schema> = {
  size: { type: ['integer', 'null'], description: 'bytes, as the backend tells; null when it cannot' },
  sizeNote: { ...str, description: 'what the figure is, or why there is none' },
};
const part = obj({ volumeSnapshotId: str, volumeId: str, ...size }, [
  'volumeSnapshotId',
  'volumeId',
  'size',
  'sizeNote',
]);

/** Snapshot sizes asked of the backends on demand (docs/api.md, "Snapshot sizes"). */
export function snapshotUsageRoutes(app: FastifyInstance, deps: () => UsageDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/volume-snapshots/:id/size',
    {
      schema: spec('volume-snapshots', "A volume snapshot's size as its backend tells it", {
        params: idParams,
        querystring: query(),
        response: { 200: obj({ id: str, ...size }, ['id', 'size', 'sizeNote']) },
      }),
    },
    async (req) => volumeSnapshotSize(deps(), actorOf(req), req.params.id),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/vm-snapshots/:id/size',
    {
      schema: spec('vm-snapshots', "A VM snapshot's size: its disk parts' as their backends tell it", {
        params: idParams,
        querystring: query(),
        response: {
          200: obj({ id: str, ...size, parts: { type: 'array', items: part } }, [
            'id',
            'size',
            'sizeNote',
            'parts',
          ]),
        },
      }),
    },
    async (req) => vmSnapshotSize(deps(), actorOf(req), req.params.id),
  );
}
