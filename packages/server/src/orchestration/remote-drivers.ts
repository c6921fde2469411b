import {
  builtInCapabilities,
  builtInDriverFactories,
  poolDirectory,
  providersWithAccessList,
  providersWithVmSnapshotParts,
  servesPool,
  type PoolDriverSettings,
} from '@strata/agent/storage/index';
import { StrataError, type HostFacts, type StorageCallMethod } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { AgentPort } from './agent-port.js';
import type { PoolDriverFactory } from './pool-drivers.js';
import { RemoteStorageDriver } from './remote-driver.js';

/** The server setting naming the driver types that run on storage nodes (ADR 0003). */
export const REMOTE_DRIVERS_ENV = 'STRATA_REMOTE_DRIVERS';

/**
 * Driver types that always run on a storage node: their backend is a machine's own (tgtd's local
 * socket, a pool directory), and the management server may run on a machine that has neither.
 * The server builds no in-process driver for them.
 */
export const ALWAYS_REMOTE: readonly string[] = ['tgt', 'qcow2'];

/**
 * The driver types this server calls on storage nodes: tgt and qcow2 always; STRATA_REMOTE_DRIVERS
 * (a comma list) may add rbd, for a server that should hold no Ceph keyring. Unset or empty: tgt
 * and qcow2. A list without tgt or qcow2, or with an unknown type, is refused at start: the
 * in-process form of those two is gone, and a setting that reads as if it still existed must not
 * pass silently.
 */
export function remoteDriverTypes(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env[REMOTE_DRIVERS_ENV] ?? '';
  const listed = [
    ...new Set(
      raw
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
  if (listed.length === 0) return [...ALWAYS_REMOTE];
  const refuse = (reason: string): never => {
    throw new StrataError('INVALID_ARGUMENT', { field: REMOTE_DRIVERS_ENV, reason });
  };
  const unknown = listed.find((t) => !Object.hasOwn(builtInCapabilities, t));
  if (unknown !== undefined) {
    refuse(`not a driver type: ${unknown} (known: ${Object.keys(builtInCapabilities).join(', ')})`);
  }
  const missing = ALWAYS_REMOTE.filter((t) => !listed.includes(t));
  if (missing.length > 0) {
    refuse(
      `${ALWAYS_REMOTE.join(' and ')} always run on storage nodes (ADR 0003); list ${missing.join(', ')} too, or leave ${REMOTE_DRIVERS_ENV} unset`,
    );
  }
  return listed;
}

const ORDER = { Up: 0, Maintenance: 1, Connecting: 2, Disconnected: 3 } as Record<string, number>;

/**
 * The host whose agent serves the pool: an agent in the storage role whose facts name the pool's
 * provider and, for a file-backed pool, a directory holding the pool's. Up hosts first; a known node
 * that is not connected is still answered (the agent port waits for it to come back), none at all
 * is UNAVAILABLE (retryable: a storage node may join).
 */
export async function storageNodeFor(db: Queryable, pool: PoolDriverSettings): Promise<string> {
  const rows = await db.query<{ id: string; state: string; facts: HostFacts | string | null }>(
    `SELECT id, state, facts FROM hosts WHERE state <> 'Removed' ORDER BY created_at, id`,
  );
  const serving = rows
    .map((r) => ({
      ...r,
      facts: (typeof r.facts === 'string' ? JSON.parse(r.facts) : r.facts) as HostFacts | null,
    }))
    .filter((r) => r.facts?.storage && servesPool(r.facts.storage, pool))
    .sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9));
  const node = serving[0];
  if (!node) {
    throw new StrataError('UNAVAILABLE', {
      what: `storage pool ${pool.name}`,
      reason: `no agent in the storage role serves ${pool.provider} pools${
        poolDirectory(pool) ? ` at ${poolDirectory(pool)}` : ''
      }`,
    });
  }
  return node.id;
}

/**
 * Factories for the remote types: each builds a RemoteStorageDriver with the local type's
 * capabilities, calling the storage node that serves the pool at each call (a node that
 * reconnects, or another that takes over, is found again).
 */
export function remoteDriverFactories(
  types: readonly string[],
  db: Queryable,
  agent: () => AgentPort,
  deadlineMs?: (method: StorageCallMethod) => number,
): Record<string, PoolDriverFactory> {
  const out: Record<string, PoolDriverFactory> = {};
  for (const type of types) {
    const capabilities = builtInCapabilities[type];
    if (!capabilities) continue;
    out[type] = (pool) => {
      const settings: PoolDriverSettings = {
        name: pool.name,
        provider: pool.provider,
        url: pool.url,
        details: pool.details,
        capacityBytes: pool.capacityBytes,
        capacityIops: pool.capacityIops,
      };
      return new RemoteStorageDriver({
        name: pool.name,
        type,
        pool: settings,
        capabilities,
        vmSnapshotParts: providersWithVmSnapshotParts.includes(type),
        accessList: providersWithAccessList.includes(type),
        agent: agent(),
        locate: () => storageNodeFor(db, settings),
        ...(deadlineMs && { deadlineMs }),
      });
    };
  }
  return out;
}

/**
 * Every factory the server's PoolDrivers uses: a RemoteStorageDriver for each remote type (tgt and
 * qcow2 always), the in-process factory for the rest (rbd unless listed; `inProcess`: tests' fakes).
 * A remote type is never built in-process, whatever `inProcess` holds.
 */
export function serverDriverFactories(
  remote: readonly string[],
  db: Queryable,
  agent: () => AgentPort,
  inProcess: Readonly<Record<string, PoolDriverFactory>> = builtInDriverFactories,
): Record<string, PoolDriverFactory> {
  const local = Object.entries(inProcess).filter(([type]) => !remote.includes(type));
  return { ...Object.fromEntries(local), ...remoteDriverFactories(remote, db, agent) };
}
