import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { spec } from '../route-kit.js';
import { int, obj, query, str } from '../schemas.js';

const rotation = obj(
  {
    keyId: str,
    previousKeyId: str,
    resealed: obj({ apiKeys: int, pools: int }, ['apiKeys', 'pools']),
    removedKeyIds: { type: 'array', items: str },
  },
  ['keyId', 'previousKeyId', 'resealed', 'removedKeyIds'],
);

/** Secrets at rest: rotating the server's key (docs/security.md). */
export function secretsRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  app.post(
    '/v1/admin/secrets/rotate',
    {
      schema: spec(
        'admin',
        'Rotate the at-rest key: seal every stored secret with a new key, then drop the old one (admin)',
        { querystring: query(), response: { 200: rotation } },
      ),
    },
    async (req) => services.secrets.rotate(actorOf(req)),
  );
}
