import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { installErrorHandling } from './api/errors.js';
import { installAuth, installJsonParser, installMetrics } from './api/hooks.js';
import { installOperatorFields } from './api/operator-fields.js';
import type { ApiDeps } from './api/context.js';
import { lazyCompilers } from './api/lazy-compilers.js';
import { registerRoutes } from './api/routes/index.js';
import type { Logger } from './observability/index.js';

export interface AppOptions {
  readonly logger?: Logger;
  /** Largest request body, bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  readonly version?: string;
  /** Extra route registrations (CloudStack API, agent endpoints), run before the app is sealed. */
  readonly plugins?: ReadonlyArray<(app: FastifyInstance) => void | Promise<void>>;
}

/**
 * The HTTP API as a Fastify instance (not listening): tests drive it with inject(), the server
 * listens with it. Every rule lives in the services; routes translate HTTP to service calls.
 */
export async function buildApp(deps: ApiDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Unknown parameters are refused (INVALID_ARGUMENT), not silently dropped.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    schemaController: { compilersFactory: lazyCompilers() },
  }) as unknown as FastifyInstance;
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  installJsonParser(app);
  installErrorHandling(app, deps.metrics);
  await deps.limits.install(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strata API',
        version: options.version ?? '0.1.0',
        description:
          'Storage control plane for KVM clouds. Authentication, paging, errors and jobs: docs/api.md.',
      },
      components: {
        securitySchemes: {
          signedRequest: {
            type: 'apiKey',
            in: 'query',
            name: 'signature',
            description: 'CloudStack-style HMAC-SHA1 signature (docs/api.md)',
          },
          sessionToken: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ signedRequest: [] }, { sessionToken: [] }],
    },
  });
  installAuth(app, deps);
  installMetrics(app, deps);
  installOperatorFields(app);

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, () =>
    Promise.resolve(app.swagger()),
  );
  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, () =>
    Promise.resolve({ ok: true }),
  );
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const { contentType, body } = await deps.metrics.render();
    return reply.type(contentType).send(body);
  });
  registerRoutes(app, deps);
  for (const plugin of options.plugins ?? []) await plugin(app);
  await app.ready();
  return app;
}
