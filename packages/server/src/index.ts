export {
  startServer,
  type RunningServer,
  type ServerContext,
  type ServerExtension,
  type StartOptions,
} from './server.js';
export { loadConfig, type ServerConfig } from './config.js';
export { buildApp, type AppOptions } from './app.js';
export type { ApiDeps } from './api/context.js';
export * from './services/index.js';
export * as auth from './auth/index.js';
export { Metrics, createLogger } from './observability/index.js';
export { openDatabase, migrate, type Database, type Queryable } from './db/index.js';
