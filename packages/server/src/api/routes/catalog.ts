import type { FastifyInstance } from 'fastify';
import type { CreateOfferingInput, CreateTemplateInput } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, spec } from '../route-kit.js';
import {
  bool,
  idParams,
  listQuery,
  name,
  obj,
  pageOf,
  qosInput,
  query,
  schemas,
  storageTags,
  str,
} from '../schemas.js';

type IdReq = { Params: { id: string } };
type Filter = { Querystring: Record<string, string | undefined> };

/** Disk offerings and templates. */
export function catalogRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const { offerings, templates } = services;
  const noContent = { 204: { type: 'null' } };

  app.get<Filter>(
    '/v1/disk-offerings',
    {
      schema: spec('disk-offerings', 'List disk offerings', {
        querystring: listQuery({ name: str }),
        response: { 200: pageOf(schemas.offering) },
      }),
    },
    async (req) => offerings.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreateOfferingInput }>(
    '/v1/disk-offerings',
    {
      schema: spec('disk-offerings', 'Create a disk offering (admin)', {
        querystring: query(),
        body: obj(
          {
            name,
            displayText: { type: ['string', 'null'] },
            sizeBytes: { type: ['integer', 'null'] },
            customSize: bool,
            qos: { anyOf: [qosInput, { type: 'null' }] },
            customIops: bool,
            hypervisorSnapshotReserve: { type: 'integer' },
            storageTags,
          },
          ['name'],
        ),
        response: { 201: schemas.offering },
      }),
    },
    async (req, reply) => reply.code(201).send(await offerings.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/disk-offerings/:id',
    {
      schema: spec('disk-offerings', 'Read a disk offering', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.offering },
      }),
    },
    async (req) => offerings.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: { name?: string; displayText?: string | null; storageTags?: string[] } }>(
    '/v1/disk-offerings/:id',
    {
      schema: spec(
        'disk-offerings',
        'Rename a disk offering or change its display text or storage tags (admin)',
        {
          params: idParams,
          querystring: query(),
          body: obj({ name, displayText: { type: ['string', 'null'] }, storageTags }),
          response: { 200: schemas.offering },
        },
      ),
    },
    async (req) => offerings.update(actorOf(req), req.params.id, req.body),
  );
  app.delete<IdReq>(
    '/v1/disk-offerings/:id',
    {
      schema: spec('disk-offerings', 'Remove an unused disk offering (admin)', {
        params: idParams,
        querystring: query(),
        response: noContent,
      }),
    },
    async (req, reply) => {
      await offerings.remove(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<Filter>(
    '/v1/templates',
    {
      schema: spec('templates', 'List templates (base images)', {
        querystring: listQuery({ name: str, format: str }),
        response: { 200: pageOf(schemas.template) },
      }),
    },
    async (req) => templates.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: CreateTemplateInput }>(
    '/v1/templates',
    {
      schema: spec('templates', 'Register a template (admin)', {
        querystring: query(),
        body: obj(
          {
            name,
            path: { type: 'string', minLength: 1, maxLength: 4096 },
            format: { type: 'string', enum: ['qcow2', 'raw'] },
            sizeBytes: { type: 'integer' },
            kernel: {
              anyOf: [
                obj(
                  {
                    path: { type: 'string', minLength: 1, maxLength: 4096 },
                    initrd: { type: ['string', 'null'] },
                    cmdline: { type: ['string', 'null'] },
                  },
                  ['path'],
                ),
                { type: 'null' },
              ],
            },
          },
          ['name', 'path', 'format'],
        ),
        response: { 201: schemas.template },
      }),
    },
    async (req, reply) => reply.code(201).send(await templates.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/templates/:id',
    {
      schema: spec('templates', 'Read a template', {
        params: idParams,
        querystring: query(),
        response: { 200: schemas.template },
      }),
    },
    async (req) => templates.get(actorOf(req), req.params.id),
  );
  app.delete<IdReq>(
    '/v1/templates/:id',
    {
      schema: spec('templates', 'Remove an unused template (admin)', {
        params: idParams,
        querystring: query(),
        response: noContent,
      }),
    },
    async (req, reply) => {
      await templates.remove(actorOf(req), req.params.id);
      return reply.code(204).send();
    },
  );
}
