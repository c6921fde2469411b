import type { FastifyInstance } from 'fastify';
import type { CreateServiceOfferingInput } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, spec } from '../route-kit.js';
import { idParams, listQuery, name, obj, pageOf, query, schemas, str } from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };
const displayText = { type: ['string', 'null'] };

/** Service (compute) offerings: vCPUs and memory a VM is deployed with. */
export function serviceOfferingRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const offerings = services.serviceOfferings;
  app.get<Filter>(
    '/v1/service-offerings',
    {
      schema: spec('service-offerings', 'List service offerings', {
        querystring: listQuery({ name: str }),
        response: { 200: pageOf(schemas.serviceOffering) },
      }),
    },
    async (req) => offerings.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreateServiceOfferingInput }>(
    '/v1/service-offerings',
    {
      schema: spec('service-offerings', 'Create a service offering (admin)', {
        querystring: query(),
        body: obj({ name, displayText, cpus: { type: 'integer' }, memoryBytes: { type: 'integer' } }, [
          'name',
          'cpus',
          'memoryBytes',
        ]),
        response: { 201: schemas.serviceOffering },
      }),
    },
    async (req, reply) => reply.code(201).send(await offerings.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/service-offerings/:id',
    {
      schema: spec('service-offerings', 'Read a service offering', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.serviceOffering },
      }),
    },
    async (req) => offerings.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: { name?: string; displayText?: string | null } }>(
    '/v1/service-offerings/:id',
    {
      schema: spec('service-offerings', 'Rename a service offering or change its display text (admin)', {
        params: idParams,
        querystring: query(),
        body: obj({ name, displayText }),
        response: { 200: schemas.serviceOffering },
      }),
    },
    async (req) => offerings.update(actorOf(req), req.params.id, req.body),
  );
  app.delete<IdReq>(
    '/v1/service-offerings/:id',
    {
      schema: spec('service-offerings', 'Remove a service offering no live VM uses (admin)', {
        params: idParams,
        querystring: query(),
        response: { 204: { type: 'null' } },
      }),
    },
    async (req, reply) => {
      await offerings.remove(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );
}
