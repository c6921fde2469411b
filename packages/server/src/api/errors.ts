import { StrataError, toStrataError } from '@strata/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/index.js';
import { fromDatabaseError } from './database-errors.js';

interface ValidationItem {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** A Fastify/ajv validation failure as INVALID_ARGUMENT naming the field. */
function fromValidation(e: FastifyError): StrataError {
  const first = (e.validation?.[0] ?? {}) as ValidationItem;
  const params = first.params ?? {};
  const missing = params['missingProperty'] ?? params['additionalProperty'];
  const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const field =
    [path, typeof missing === 'string' ? missing : ''].filter(Boolean).join('.') ||
    (e.validationContext ?? 'request');
  const reason =
    params['additionalProperty'] !== undefined ? 'is not a known parameter' : (first.message ?? 'is invalid');
  return new StrataError('INVALID_ARGUMENT', { field, reason, in: e.validationContext });
}

/** A thrown non-registry error: its text stays in the server log, the caller gets no internals. */
function unexpected(e: unknown): StrataError {
  const err = toStrataError(e);
  return err.code === 'INTERNAL' && !(e instanceof StrataError)
    ? new StrataError('INTERNAL', { reason: 'an unexpected error; the server log has it' }, { cause: e })
    : err;
}

/** Everything thrown becomes a registry error: Fastify's own errors are translated, the rest is INTERNAL. */
export function toApiError(e: unknown): StrataError {
  if (e instanceof StrataError) return e;
  const fe = e as Partial<FastifyError>;
  if (fe.validation) return fromValidation(fe as FastifyError);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new StrataError('API_PAYLOAD_TOO_LARGE', { reason: fe.message ?? '' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new StrataError('INVALID_ARGUMENT', {
        field: 'content-type',
        reason: 'must be application/json',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new StrataError('INVALID_ARGUMENT', { field: 'body', reason: fe.message ?? 'is invalid' });
    default:
      if (fe.statusCode === 400)
        return new StrataError('INVALID_ARGUMENT', { field: 'body', reason: fe.message ?? 'is malformed' });
      return fromDatabaseError(e) ?? unexpected(e);
  }
}

/** Seconds a refused client should wait (RATE_LIMITED), for the Retry-After header. */
export function retryAfterOf(err: StrataError): number | undefined {
  const s = err.params['retryAfterSeconds'];
  return err.code === 'RATE_LIMITED' && typeof s === 'number' ? s : undefined;
}

export function sendError(reply: FastifyReply, err: StrataError): FastifyReply {
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
  return reply.code(err.status).type('application/json').send({ error: err.toJSON() });
}

export function installErrorHandling(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((e: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const err = toApiError(e);
    metrics.apiErrors.inc({ code: err.code });
    if (err.status >= 500) req.log.error({ err: e, code: err.code }, 'request failed');
    else req.log.info({ code: err.code, reason: err.message }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new StrataError('API_ROUTE_NOT_FOUND', {
      method: req.method,
      path: req.url.split('?')[0] ?? '',
    });
    metrics.apiErrors.inc({ code: err.code });
    return sendError(reply, err);
  });
}
