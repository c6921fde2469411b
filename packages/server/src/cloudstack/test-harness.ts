import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GUEST_CACHE, dropTestDatabase, stackDatabaseUrl } from '@strata/testing';
import { createLogger } from '../observability/index.js';
import { startServer, type RunningServer, type ServerExtension } from '../server.js';
import { SYSTEM_ACTOR, type Actor } from '../services/index.js';
import { CLOUDSTACK_PATH } from './plugin.js';
import { defaultExtensions } from '../composition/defaults.js';
import type { HubHandle } from '../composition/agents-extension.js';
import type { CsTarget } from './cs-client.js';
import type { SnapshotStrategies } from '../vmsnapshots/strategy/index.js';

/**
 * Test support: the real server (startServer: services, job engine, REST API) with the CloudStack
 * extension, listening on a free port, plus a user account.
 */
export interface Harness {
  readonly server: RunningServer;
  readonly admin: CsTarget & { readonly actor: Actor };
  readonly user: CsTarget & { readonly actor: Actor };
  /** The agent channel's hub (registration tokens, channel port) for tests that start an agent. */
  readonly agents: HubHandle;
  close(): Promise<void>;
}

/**
 * The server as it ships (defaultExtensions: agent channel, orchestration jobs, CloudStack API),
 * on the database at `databaseUrl` (a fresh PostgreSQL database), or else on the run's stack
 * database (stackDatabaseUrl: a fresh in-memory PGlite unless the run asks for PostgreSQL).
 */
export async function startHarness(
  extra: readonly ServerExtension[] = [],
  databaseUrl?: string,
  options: { readonly strategies?: SnapshotStrategies } = {},
): Promise<Harness & { readonly dataDir: string }> {
  const ownDatabase = databaseUrl === undefined;
  databaseUrl ??= await stackDatabaseUrl('memory:', 'harness');
  const stackUrl = databaseUrl;
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-cs-'));
  const shipped = defaultExtensions({
    stateDir: join(dataDir, 'host-state'),
    agents: { port: 0 },
    ...(options.strategies && { strategies: options.strategies }),
  });
  const agents = shipped.find((e): e is ServerExtension & HubHandle => e.name === 'agents' && 'hub' in e);
  if (!agents) throw new Error('defaultExtensions has no agent channel');
  const server = await startServer(
    {
      dataDir,
      databaseUrl,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'warn',
      jobs: true,
      // the test guest's images (story-host) and files a test writes under DATA_DIR/templates
      templateDirs: [DEFAULT_GUEST_CACHE, join(dataDir, 'templates')],
    },
    {
      extensions: [...shipped, ...extra],
      logger: createLogger({ level: 'warn' }),
    },
  );
  const endpoint = `${server.url}${CLOUDSTACK_PATH}`;
  const boot = server.bootstrap;
  if (!boot) throw new Error('a fresh database must bootstrap an admin');
  const s = server.services;
  const suffix = Math.random().toString(36).slice(2, 8);
  const acct = await s.accounts.create(SYSTEM_ACTOR, { name: `cs-user-${suffix}`, role: 'user' });
  const u = await s.accounts.createUser(SYSTEM_ACTOR, { accountId: acct.id, username: `cs-user-${suffix}` });
  const key = await s.apiKeys.create(SYSTEM_ACTOR, { userId: u.id });
  return {
    dataDir,
    agents,
    server,
    admin: {
      endpoint,
      key: boot.apiKey,
      secret: boot.secretKey,
      actor: { accountId: boot.accountId, userId: null, role: 'admin', via: 'api-key' },
    },
    user: {
      endpoint,
      key: key.apiKey,
      secret: key.secretKey,
      actor: { accountId: acct.id, userId: u.id, role: 'user', via: 'api-key' },
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      if (ownDatabase && stackUrl.startsWith('postgres')) await dropTestDatabase(stackUrl);
    },
  };
}
