import type { FastifyInstance } from 'fastify';
import { TAG_RESOURCE_TYPES, type KeyValue, type TagResourceType } from '../../services/index.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { spec } from '../route-kit.js';
import { obj, query, str } from '../schemas.js';

type Target = { resourceType: TagResourceType; resourceIds: string[] };
const resourceType = { type: 'string', enum: [...TAG_RESOURCE_TYPES] };
const resourceIds = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 200 },
  minItems: 1,
  maxItems: 100,
};
const keyValue = obj({ key: str, value: str }, ['key', 'value']);
const tag = {
  type: 'object',
  title: 'Tag',
  properties: { resourceType: str, resourceId: str, key: str, value: str, accountId: str, createdAt: str },
  required: ['resourceType', 'resourceId', 'key', 'value', 'accountId', 'createdAt'],
};

/** Resource tags: key/value labels on VMs, volumes, volume snapshots and VM snapshots. */
export function tagRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const tags = services.tags;
  app.get<{
    Querystring: { resourceType?: TagResourceType; resourceId?: string; key?: string; value?: string };
  }>(
    '/v1/tags',
    {
      schema: spec('tags', 'List tags of the resources one can see', {
        querystring: query({ resourceType, resourceId: str, key: str, value: str }),
        response: { 200: obj({ items: { type: 'array', items: tag } }, ['items']) },
      }),
    },
    async (req) => ({ items: await tags.list(actorOf(req), req.query) }),
  );
  app.post<{ Body: Target & { tags: KeyValue[] } }>(
    '/v1/tags',
    {
      schema: spec('tags', 'Tag resources (a key set again takes the new value)', {
        querystring: query(),
        body: obj(
          { resourceType, resourceIds, tags: { type: 'array', items: keyValue, minItems: 1, maxItems: 100 } },
          ['resourceType', 'resourceIds', 'tags'],
        ),
        response: { 200: obj({ items: { type: 'array', items: tag } }, ['items']) },
      }),
    },
    async (req) => ({ items: await tags.create(actorOf(req), req.body) }),
  );
  app.post<{ Body: Target & { tags?: Array<{ key: string; value?: string }> } }>(
    '/v1/tags/delete',
    {
      schema: spec(
        'tags',
        'Remove tags: the keys given (a value given must match), or every tag of the resources',
        {
          querystring: query(),
          body: obj(
            {
              resourceType,
              resourceIds,
              tags: { type: 'array', items: obj({ key: str, value: str }, ['key']), maxItems: 100 },
            },
            ['resourceType', 'resourceIds'],
          ),
          response: { 200: obj({ removed: { type: 'integer' } }, ['removed']) },
        },
      ),
    },
    async (req) => ({ removed: await tags.remove(actorOf(req), req.body) }),
  );
}
