import type { FastifyReply } from 'fastify';
import type { Accepted } from '../services/index.js';
import type { ListQuery } from '../services/sql.js';
import { errorResponses } from './schemas.js';

type Schema = Record<string, unknown>;

/** Reads paging out of a validated querystring; the rest are the resource's filters. */
export function listArgs<Q extends Record<string, unknown>>(q: Q): ListQuery & Q {
  const { total, ...rest } = q as Q & { total?: boolean };
  return { ...(rest as Q), withTotal: total === true };
}

/** Route schema with the shared error answers and a tag for the OpenAPI document. */
export function spec(
  tag: string,
  summary: string,
  s: { params?: Schema; querystring?: Schema; body?: Schema; response: Record<number, Schema> },
): Schema {
  return { tags: [tag], summary, ...s, response: { ...errorResponses, ...s.response } };
}

/** 202 with the job and where to follow it. */
export function sendAccepted<T>(reply: FastifyReply, a: Accepted<T>): FastifyReply {
  return reply.code(202).header('location', `/v1/jobs/${a.job.id}`).send(a);
}
