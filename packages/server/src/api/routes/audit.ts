import type { FastifyInstance } from 'fastify';
import { AUDIT_KINDS } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, spec } from '../route-kit.js';
import { listQuery, pageOf, schemas, str } from '../schemas.js';

/** The audit trail (docs/security.md): operator only. */
export function auditRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  app.get<{ Querystring: { kind?: string; accountId?: string; since?: string; until?: string } }>(
    '/v1/audit-events',
    {
      schema: spec('audit', 'List audit events: failed authentication, role changes, API keys (admin)', {
        querystring: listQuery({
          kind: { type: 'string', enum: [...AUDIT_KINDS] },
          accountId: str,
          since: { type: 'string', description: 'ISO 8601 time: events at or after it' },
          until: { type: 'string', description: 'ISO 8601 time: events before it' },
        }),
        response: { 200: pageOf(schemas.auditEvent) },
      }),
    },
    async (req) => services.audit.list(actorOf(req), listArgs(req.query)),
  );
}
