import { DriverRegistry, StrataError, type StorageDriver, type StoragePool } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { openPoolSecrets, type SecretBox } from '../secrets/index.js';
import { toPool } from '../services/storage-pools.js';

/** Builds a driver instance for one pool, from the pool's provider, url and details. */
export type PoolDriverFactory = (pool: StoragePool) => StorageDriver;

/**
 * The driver serving each pool, built on first use from the pool's row and kept in a registry
 * under the pool's id (pool names are user strings; ids are ours).
 */
export class PoolDrivers {
  readonly #registry = new DriverRegistry();

  constructor(
    private readonly db: Queryable,
    private readonly factories: Readonly<Record<string, PoolDriverFactory>>,
    private readonly secrets: SecretBox,
  ) {}

  async forPool(poolId: string): Promise<StorageDriver> {
    if (this.#registry.has(poolId)) return this.#registry.get(poolId);
    const row = (await this.db.query('SELECT * FROM storage_pools WHERE id = $1', [poolId]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id: poolId });
    const pool = toPool(row);
    const factory = this.factories[pool.provider];
    if (!factory) throw new StrataError('STORAGE_DRIVER_NOT_FOUND', { name: pool.provider });
    // The one place a pool's secrets are opened: the driver needs them, nothing else does.
    const driver = factory({ ...pool, ...(await openPoolSecrets(this.secrets, poolId, pool)), name: poolId });
    if (this.#registry.has(poolId)) return this.#registry.get(poolId);
    return this.#registry.register(driver);
  }

  /** The provider types this server can build drivers for. */
  providers(): string[] {
    return Object.keys(this.factories);
  }

  async close(): Promise<void> {
    for (const d of this.#registry.list()) await d.close?.();
  }
}
