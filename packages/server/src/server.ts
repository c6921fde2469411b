import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import {
  Authenticator,
  ReplayGuard,
  SessionStore,
  bootstrapAdmin,
  type BootstrapCredentials,
} from './auth/index.js';
import { defaultSecretsKeyFile, defaultTemplateDirs, type ServerConfig } from './config.js';
import { openDatabase, type Database } from './db/index.js';
import { createJobEngine, registerJobMetrics, type JobEngine } from './jobs/index.js';
import { DEFAULT_LIMITS, RequestLimits, WaitGate, registerLimitMetrics } from './limits/index.js';
import { DEFAULT_AUDIT_RETENTION_DAYS, startAuditPruning } from './services/audit-retention.js';
import { Metrics, createLogger, type Logger } from './observability/index.js';
import { openSecretBox, sealStoredSecrets } from './secrets/index.js';
import { createServices, type Services } from './services/index.js';

/** What an extension (agent channel, orchestration jobs, CloudStack API) gets to work with. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly db: Database;
  readonly services: Services;
  /** Always present (jobs can be queued); it claims and runs jobs only when `config.jobs`. */
  readonly engine: JobEngine;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  /** Request rate limits; an extension with its own credential check spends from them too. */
  readonly limits: RequestLimits;
  /** What extensions share with each other (e.g. the agent hub for the orchestration jobs), by name. */
  readonly shared: Map<string, unknown>;
}

/**
 * A part of the server that plugs in without editing this file: `routes` adds HTTP routes before
 * the app is sealed; `start` runs before the job engine starts (register job definitions there)
 * and may return what to close on shutdown. Closed in reverse order.
 */
export interface ServerExtension {
  readonly name: string;
  routes?(app: FastifyInstance, ctx: ServerContext): void | Promise<void>;
  start?(ctx: ServerContext, app: FastifyInstance): Promise<{ close(): Promise<void> } | void>;
}

export interface StartOptions {
  readonly extensions?: readonly ServerExtension[];
  readonly logger?: Logger;
  /** Listen (default true). Tests that only inject() may skip it. */
  readonly listen?: boolean;
}

export interface RunningServer extends ServerContext {
  /** Base URL, e.g. http://127.0.0.1:8080 (empty when not listening). */
  readonly url: string;
  readonly app: FastifyInstance;
  /** Set on the first start against an empty database: the admin's credentials (also in the data dir). */
  readonly bootstrap: BootstrapCredentials | null;
  close(): Promise<void>;
}

/** Composes database, services, jobs, API and extensions; answers once it is listening. */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Where start-up time goes, logged once listening: restarts after a crash are on the critical path.
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const mark = (name: string) => (phases[name] = Math.round(performance.now() - t0));
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // A refused key file stops the start before anything is opened.
  const secrets = await openSecretBox(config.secretsKeyFile ?? defaultSecretsKeyFile(config.dataDir));
  const db = await openDatabase(config.databaseUrl);
  mark('databaseMs');
  const closers: Array<{ name: string; close(): Promise<void> }> = [
    { name: 'database', close: () => db.close() },
  ];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      await c.close().catch((e: unknown) => logger.error({ err: e, part: c.name }, 'close failed'));
    }
  };
  try {
    const sealed = await sealStoredSecrets(db, secrets);
    if (sealed.resealed.apiKeys + sealed.resealed.pools + sealed.removedKeyIds.length > 0)
      logger.info({ secrets: sealed }, 'sealed stored secrets with the current key');
    mark('secretsMs');
    const bootstrap = await bootstrapAdmin(db, config.dataDir, secrets);
    mark('bootstrapMs');
    if (bootstrap)
      logger.info(
        { file: `${config.dataDir}/admin-credentials.json` },
        'created the admin account and its API key',
      );
    const engine = createJobEngine({ db, logger, ...(config.serverId ? { serverId: config.serverId } : {}) });
    const limitSettings = config.limits ?? DEFAULT_LIMITS;
    const limits = new RequestLimits(limitSettings);
    const jobWaits = new WaitGate(limitSettings.jobWaits, limitSettings.jobWaitsPerUser);
    const services = createServices(db, engine, {
      templateDirs: config.templateDirs ?? defaultTemplateDirs(config.dataDir),
      jobWaits,
      secrets,
    });
    const metrics = new Metrics();
    registerJobMetrics(metrics.registry, engine);
    registerLimitMetrics(metrics.registry, jobWaits);
    const sessions = new SessionStore(db, services.accounts, services.audit);
    const auditPruning = startAuditPruning(
      db,
      config.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS,
      logger,
    );
    closers.push({ name: 'audit-pruning', close: () => auditPruning.close() });
    const authenticator = new Authenticator(services.apiKeys, new ReplayGuard(db), sessions, services.audit);
    const ctx: ServerContext = {
      config,
      db,
      services,
      engine,
      metrics,
      logger,
      authenticator,
      limits,
      shared: new Map(),
    };
    const extensions = options.extensions ?? [];
    const app = await buildApp(
      { services, authenticator, sessions, metrics, limits },
      {
        logger,
        plugins: extensions.map((e) => (a: FastifyInstance) => (e.routes ? e.routes(a, ctx) : undefined)),
      },
    );
    closers.push({ name: 'http', close: () => app.close() });
    mark('appMs');
    for (const ext of extensions) {
      const started = await ext.start?.(ctx, app);
      if (started) closers.push({ name: ext.name, close: () => started.close() });
      mark(`${ext.name}Ms`);
    }
    if (config.jobs) {
      engine.start();
      closers.push({ name: 'jobs', close: () => engine.stop() });
    }
    let url = '';
    if (options.listen !== false) {
      url = await app.listen({ host: config.host, port: config.port });
      mark('listeningMs');
      logger.info({ url, startup: phases }, 'strata server listening');
    }
    return { ...ctx, url, app, bootstrap, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
