import type { JobState } from '@strata/core';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, spec } from '../route-kit.js';
import { anyJson, idParams, listQuery, obj, pageOf, query, schemas, str } from '../schemas.js';

type IdReq = { Params: { id: string } };

/** Jobs (poll or wait) and the event log. */
export function jobRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { jobs, events } = services;
  app.get<{
    Querystring: {
      limit?: number;
      cursor?: string;
      state?: JobState;
      type?: string;
      resourceType?: string;
      resourceId?: string;
      accountId?: string;
    };
  }>(
    '/v1/jobs',
    {
      schema: spec('jobs', 'List jobs, newest first', {
        querystring: obj({
          ...(listQuery({}) as { properties: Record<string, Record<string, unknown>> }).properties,
          state: { type: 'string', enum: ['Queued', 'Running', 'Compensating', 'Succeeded', 'Failed'] },
          type: str,
          resourceType: str,
          resourceId: str,
          accountId: str,
        }),
        response: { 200: pageOf(schemas.job) },
      }),
    },
    async (req) => jobs.list(actorOf(req), req.query),
  );
  app.get<IdReq & { Querystring: { wait?: number } }>(
    '/v1/jobs/:id',
    {
      schema: spec('jobs', 'Read a job; with ?wait=seconds, answer when it finishes or the wait ends', {
        params: idParams,
        querystring: query({ wait: { type: 'number', minimum: 0, maximum: 120 } }),
        response: { 200: schemas.job },
      }),
    },
    async (req) =>
      req.query.wait
        ? jobs.wait(actorOf(req), req.params.id, req.query.wait * 1000)
        : jobs.get(actorOf(req), req.params.id),
  );
  app.post<IdReq>(
    '/v1/jobs/:id/cancel',
    {
      schema: spec(
        'jobs',
        'Cancel a job: a queued one ends at once; a running one compensates at its next step boundary',
        { params: idParams, querystring: query(), response: { 200: schemas.job } },
      ),
    },
    async (req) => jobs.cancel(actorOf(req), req.params.id),
  );
  app.get<IdReq>(
    '/v1/jobs/:id/steps',
    {
      schema: spec('jobs', "A job's journal", {
        params: idParams,
        querystring: query(),
        response: { 200: { type: 'array', items: anyJson } },
      }),
    },
    async (req) => jobs.steps(actorOf(req), req.params.id),
  );
  app.get<IdReq & { Querystring: { after?: number } }>(
    '/v1/jobs/:id/progress',
    {
      schema: spec('jobs', "A job's progress events after a sequence number", {
        params: idParams,
        querystring: query({ after: { type: 'integer', minimum: 0 } }),
        response: { 200: { type: 'array', items: anyJson } },
      }),
    },
    async (req) => jobs.progress(actorOf(req), req.params.id, req.query.after),
  );
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/v1/events',
    {
      schema: spec('events', 'List events (audit trail of state changes)', {
        querystring: listQuery({ type: str, resourceType: str, resourceId: str, jobId: str, accountId: str }),
        response: { 200: pageOf(schemas.event) },
      }),
    },
    async (req) => events.list(actorOf(req), listArgs(req.query)),
  );
}
