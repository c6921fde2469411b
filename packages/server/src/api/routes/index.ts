import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { auditRoutes } from './audit.js';
import { authRoutes } from './auth.js';
import { catalogRoutes } from './catalog.js';
import { computeRoutes } from './compute.js';
import { infrastructureRoutes } from './infrastructure.js';
import { jobRoutes } from './jobs.js';
import { resourceLimitRoutes } from './resource-limits.js';
import { secretsRoutes } from './secrets.js';
import { serviceOfferingRoutes } from './service-offerings.js';
import { vmSnapshotRoutes } from './snapshots.js';
import { snapshotScheduleRoutes } from './snapshot-schedules.js';
import { storageRoutes } from './storage.js';
import { tagRoutes } from './tags.js';

export function registerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  for (const routes of [
    authRoutes,
    auditRoutes,
    infrastructureRoutes,
    catalogRoutes,
    serviceOfferingRoutes,
    computeRoutes,
    storageRoutes,
    vmSnapshotRoutes,
    jobRoutes,
    secretsRoutes,
    tagRoutes,
    snapshotScheduleRoutes,
    resourceLimitRoutes,
  ]) {
    routes(app, deps);
  }
}
