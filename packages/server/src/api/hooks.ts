import { StrataError } from '@strata/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../services/actor.js';
import type { ApiDeps } from './context.js';

/** Keeps the exact body text (the signature covers its hash), then parses it. */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    req.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new StrataError('INVALID_ARGUMENT', { field: 'body', reason: 'is not valid JSON' }), undefined);
    }
  });
}

/**
 * Authenticates before validation: the signature covers the query exactly as sent, and
 * validation would coerce it. Routes marked `config.public` skip this and spend from their
 * address's budget of unauthenticated requests instead (docs/api.md, "Limits").
 */
export function installAuth(app: FastifyInstance, deps: ApiDeps): void {
  app.addHook('onRequest', async (req, reply) => {
    const { public: open, ownLimits } = req.routeOptions.config;
    if (open && !ownLimits) await deps.limits.anonymous(req, reply);
  });
  app.addHook('preValidation', async (req, reply) => {
    if (req.routeOptions.config.public) return;
    const actor = (req.actor = await deps.limits.authenticate(req, reply, () =>
      deps.authenticator.authenticateRest({
        method: req.method,
        path: req.url.split('?')[0] ?? '/',
        query: (req.query ?? {}) as Record<string, string>,
        rawBody: req.rawBody,
        authorization: req.headers.authorization,
        remoteAddress: req.ip,
      }),
    ));
    req.log = req.log.child({ accountId: actor.accountId });
  });
}

/** The caller of an authenticated route. */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor)
    throw new StrataError('AUTH_UNAUTHENTICATED', { reason: 'no credentials were checked for this route' });
  return req.actor;
}

/** Metrics per route template (not per URL, so ids do not explode the label set). */
export function installMetrics(app: FastifyInstance, deps: ApiDeps): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.apiLatency.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
