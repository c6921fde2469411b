import Fastify, { type FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../db/index.js';
import { createServices, SYSTEM_ACTOR, type Actor, type Services } from '../services/index.js';
import type { JobEngine } from '../jobs/types.js';
import { cloudStackServices } from './adapter.js';
import { cloudStackAuthenticator } from './authenticate.js';
import { register, CLOUDSTACK_PATH } from './plugin.js';
import type { CsTarget } from './cs-client.js';

/**
 * Test support: a real HTTP server with the CloudStack plugin over the real service layer on a
 * fresh in-memory PGlite database, an admin and a user account with API keys. (The server's own
 * startServer replaces the Fastify part once it exists; the services are the same.)
 */
export interface Harness {
  readonly db: Database;
  readonly services: Services;
  readonly app: FastifyInstance;
  readonly admin: CsTarget & { readonly actor: Actor };
  readonly user: CsTarget & { readonly actor: Actor };
  close(): Promise<void>;
}

async function account(services: Services, endpoint: string, name: string, role: 'admin' | 'user'): Promise<CsTarget & { actor: Actor }> {
  const acct = await services.accounts.create(SYSTEM_ACTOR, { name, role });
  const user = await services.accounts.createUser(SYSTEM_ACTOR, { accountId: acct.id, username: `${name}-user` });
  const key = await services.accounts.createApiKey(SYSTEM_ACTOR, { userId: user.id });
  return { endpoint, key: key.apiKey, secret: key.secretKey, actor: { accountId: acct.id, userId: user.id, role, via: 'api-key' } };
}

export async function startHarness(engine: JobEngine | null = null): Promise<Harness> {
  const db = await openDatabase('memory:');
  const services = createServices(db, engine);
  const app = Fastify({ logger: false });
  await register(app, { authenticate: cloudStackAuthenticator(services.accounts), services: cloudStackServices(services) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = `${address}${CLOUDSTACK_PATH}`;
  const suffix = Math.random().toString(36).slice(2, 8);
  const admin = await account(services, endpoint, `cs-admin-${suffix}`, 'admin');
  const user = await account(services, endpoint, `cs-user-${suffix}`, 'user');
  return {
    db, services, app, admin, user,
    async close() {
      await app.close();
      await db.close();
    },
  };
}
