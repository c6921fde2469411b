import { isWithin, poolDirectory } from '@strata/agent/storage/index';
import { StrataError, type HostFacts } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { AgentPort } from './agent-port.js';
import { hostFiles, type HostFiles } from './host-files.js';

/** Whether a host's facts say it has `dir` (at or below one of its pool directories); unknown: yes. */
function holds(facts: HostFacts | string | null, dir: string | null): boolean {
  const f = (typeof facts === 'string' ? JSON.parse(facts) : facts) as HostFacts | null;
  if (dir === null || !f?.poolDirs) return true;
  return f.poolDirs.some((root) => isWithin(dir, root));
}

/**
 * The host whose agent works on a pool's files (qcow2 layers): an Up host that mounts the pool,
 * that is one of the pool's cluster (a zone-wide pool: of its zone), and whose facts list the
 * pool's directory among its pool directories (an agent that announces none is taken at its word
 * that it has every pool). `prefer` (the VM's own host) wins when it is one of them, so a VM's files
 * are worked on where the VM runs; otherwise the oldest such host, so the choice is stable across
 * retries. Hosts that mount a pool mount it at the same path (docs/agent.md).
 */
export async function poolAgentHost(db: Queryable, poolId: string, prefer?: string | null): Promise<string> {
  const pool = (
    await db.query('SELECT zone_id, cluster_id, provider, url FROM storage_pools WHERE id = $1', [poolId])
  )[0];
  if (!pool) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id: poolId });
  const dir = poolDirectory({ provider: String(pool['provider']), url: String(pool['url']) });
  const rows = await db.query<{ id: string; facts: HostFacts | string | null }>(
    `SELECT h.id, h.facts FROM hosts h JOIN clusters c ON c.id = h.cluster_id
      WHERE h.state = 'Up' AND ($1::text IS NULL AND c.zone_id = $2 OR h.cluster_id = $1)
      ORDER BY h.created_at, h.id`,
    [pool['cluster_id'] ?? null, pool['zone_id']],
  );
  const ids = rows.filter((r) => holds(r.facts, dir)).map((r) => String(r.id));
  if (prefer && ids.includes(prefer)) return prefer;
  const first = ids[0];
  if (!first) {
    throw new StrataError('UNAVAILABLE', {
      what: `the files of storage pool ${poolId}`,
      reason:
        rows.length === 0
          ? 'no host agent of its cluster is Up'
          : `no Up host agent of its cluster lists ${dir ?? 'its directory'} in STRATA_AGENT_POOL_DIRS`,
    });
  }
  return first;
}

/** The files of a pool, through the agent poolAgentHost chooses. */
export async function poolFiles(
  deps: { readonly db: Queryable; readonly agent: AgentPort },
  poolId: string,
  prefer?: string | null,
): Promise<HostFiles> {
  return hostFiles(deps.agent, await poolAgentHost(deps.db, poolId, prefer));
}

/** The files of the pool a volume lives in. */
export async function volumeFiles(
  deps: { readonly db: Queryable; readonly agent: AgentPort },
  volumeId: string,
  prefer?: string | null,
): Promise<HostFiles> {
  const row = (await deps.db.query('SELECT pool_id FROM volumes WHERE id = $1', [volumeId]))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume', id: volumeId });
  return poolFiles(deps, String(row['pool_id']), prefer);
}
