import { join } from 'node:path';
import { openDatabase, type Database } from '../../db/index.js';
import { AgentHub } from '../hub.js';
import type { PreAuthLimits } from '../pre-auth.js';

export interface TestHub {
  readonly db: Database;
  readonly hub: AgentHub;
  readonly clusterId: string;
}

/**
 * A real hub for channel tests: in-memory PGlite holding one zone and one cluster (named with
 * `suffix`), TLS on a free loopback port, its certificate under `<dir>/server`.
 */
export async function startTestHub(opts: {
  readonly dir: string;
  readonly suffix: string;
  readonly heartbeatMs: number;
  readonly missedHeartbeats?: number;
  readonly preAuth?: Partial<PreAuthLimits>;
}): Promise<TestHub> {
  const db = await openDatabase('memory:');
  const clusterId = `cluster-${opts.suffix}`;
  await db.query(`INSERT INTO zones (id, name) VALUES ($1, $1)`, [`zone-${opts.suffix}`]);
  await db.query(`INSERT INTO clusters (id, zone_id, name) VALUES ($1, $2, $1)`, [
    clusterId,
    `zone-${opts.suffix}`,
  ]);
  const hub = await AgentHub.start({
    db,
    dataDir: join(opts.dir, 'server'),
    host: '127.0.0.1',
    port: 0,
    heartbeatMs: opts.heartbeatMs,
    ...(opts.missedHeartbeats !== undefined && { missedHeartbeats: opts.missedHeartbeats }),
    ...(opts.preAuth && { preAuth: opts.preAuth }),
  });
  return { db, hub, clusterId };
}
