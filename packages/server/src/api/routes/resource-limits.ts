import type { FastifyInstance } from 'fastify';
import { RESOURCE_KINDS, parseResourceKind } from '../../services/resource-limits.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { spec } from '../route-kit.js';
import { id, int, obj, query, str } from '../schemas.js';

const kind = { type: 'string', enum: [...RESOURCE_KINDS] };
const limit = obj({ accountId: str, kind, max: int, used: int }, ['accountId', 'kind', 'max', 'used']);

/** An account's resource limits (quotas) with what it uses now: operators set them. */
export function resourceLimitRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const limits = services.resourceLimits;
  app.get<{ Params: { id: string }; Querystring: { kind?: string } }>(
    '/v1/accounts/:id/limits',
    {
      schema: spec('accounts', "List an account's resource limits and usage", {
        params: obj({ id }, ['id']),
        querystring: query({ kind }),
        response: { 200: obj({ items: { type: 'array', items: limit } }, ['items']) },
      }),
    },
    async (req) => ({
      items: await limits.list(
        actorOf(req),
        req.params.id,
        req.query.kind === undefined ? undefined : parseResourceKind('kind', req.query.kind),
      ),
    }),
  );
  app.put<{ Params: { id: string; kind: string }; Body: { max: number } }>(
    '/v1/accounts/:id/limits/:kind',
    {
      schema: spec('accounts', 'Set one resource limit of an account; -1 is unlimited (admin)', {
        params: obj({ id, kind }, ['id', 'kind']),
        querystring: query(),
        body: obj({ max: { type: 'integer', minimum: -1 } }, ['max']),
        response: { 200: limit },
      }),
    },
    async (req) =>
      limits.set(actorOf(req), req.params.id, parseResourceKind('kind', req.params.kind), req.body.max),
  );
}
