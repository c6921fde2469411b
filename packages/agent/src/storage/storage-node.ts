import { isAbsolute, relative, resolve } from 'node:path';
import {
  isStorageCallMethod,
  StrataError,
  storageCallsWithoutRequest,
  throwIfAborted,
  type StorageCallParams,
  type StorageCallResult,
  type StorageContext,
  type StorageDriver,
  type StorageNodeFacts,
} from '@strata/core';
import {
  builtInDriverFactories,
  fileBackedProviders,
  poolDirectory,
  type PoolDriverFactory,
  type PoolDriverSettings,
} from './driver-factories.js';
import type { ServedPools } from './served-pools.js';

type DriverMethod = (ctx: StorageContext, request?: unknown) => Promise<unknown>;

/** True when `dir` is `root` or below it (both absolute; no `..` escapes). */
export function isWithin(dir: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(dir));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Whether a node announcing `facts` serves the pool: its provider, and for a file-backed pool its directory. */
export function servesPool(
  facts: StorageNodeFacts,
  pool: Pick<StorageCallParams['pool'], 'provider' | 'url'>,
): boolean {
  if (!facts.providers.includes(pool.provider)) return false;
  const dir = poolDirectory(pool);
  if (dir === null) return !fileBackedProviders.includes(pool.provider);
  return facts.poolDirs.some((root) => isWithin(dir, root));
}

/**
 * The storage role of an agent (ADR 0003): builds each pool's driver here, from the settings the
 * server sends with every call, and runs the call under the call's deadline. A driver is kept per
 * pool id and built again when the pool's settings change. Drivers keep no state only in memory,
 * so an agent restart loses nothing.
 */
export class StorageNode {
  readonly #drivers = new Map<
    string,
    { readonly key: string; readonly driver: StorageDriver; readonly pool: StorageCallParams['pool'] }
  >();

  constructor(
    readonly facts: StorageNodeFacts,
    private readonly factories: Readonly<Record<string, PoolDriverFactory>> = builtInDriverFactories,
    /** Where the pools served are remembered across agent restarts (none: not remembered). */
    private readonly served?: ServedPools,
  ) {}

  /**
   * Builds the drivers of the pools this node served before it restarted (those it still serves),
   * so each driver's upkeep runs without waiting for a call. Returns their ids.
   */
  async restore(): Promise<string[]> {
    const built: string[] = [];
    for (const [poolId, pool] of Object.entries((await this.served?.read()) ?? {})) {
      try {
        this.driverFor({ poolId, pool });
        built.push(poolId);
      } catch {
        // no longer served here, or its provider not built here: the server's call will say why
      }
    }
    return built;
  }

  #saving: Promise<void> = Promise.resolve();

  /** Resolves once the served pools' file holds every driver built so far (its writes are queued). */
  saved(): Promise<void> {
    return this.#saving;
  }

  async #remember(): Promise<void> {
    if (!this.served) return;
    const pools: Record<string, PoolDriverSettings> = {};
    for (const [poolId, d] of this.#drivers) pools[poolId] = { ...d.pool, name: poolId };
    await this.served.write(pools);
  }

  serves(pool: StorageCallParams['pool']): boolean {
    return servesPool(this.facts, pool);
  }

  async call(params: StorageCallParams, signal: AbortSignal, requestId?: string): Promise<StorageCallResult> {
    if (!isStorageCallMethod(params.method)) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'method',
        reason: `not a driver method: ${String(params.method)}`,
      });
    }
    if (!Number.isFinite(params.deadlineMs) || params.deadlineMs <= 0) {
      throw new StrataError('INVALID_ARGUMENT', { field: 'deadlineMs', reason: 'a positive number of ms' });
    }
    const driver = this.driverFor(params);
    // The deadline stands for the caller's signal: past it the driver stops what it has not committed.
    const ctx: StorageContext = {
      signal: AbortSignal.any([signal, AbortSignal.timeout(params.deadlineMs)]),
      ...(requestId && { requestId }),
    };
    throwIfAborted(ctx.signal, params.method);
    const method = params.method;
    if (method === 'listVmSnapshotParts') {
      return { result: driver.listVmSnapshotParts ? await driver.listVmSnapshotParts(ctx) : [] };
    }
    // The driver's methods by name: every StorageCallMethod is one (storageCallMethods lists them).
    const fn = (driver as unknown as Record<string, DriverMethod>)[method];
    if (typeof fn !== 'function')
      throw new StrataError('STORAGE_UNSUPPORTED', { driver: driver.type, operation: method });
    if (storageCallsWithoutRequest.includes(method)) return { result: await fn.call(driver, ctx) };
    if (typeof params.request !== 'object' || params.request === null) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'request',
        reason: `${method} takes a request object`,
      });
    }
    return { result: await fn.call(driver, ctx, params.request) };
  }

  private driverFor(params: Pick<StorageCallParams, 'poolId' | 'pool'>): StorageDriver {
    const { pool, poolId } = params;
    if (typeof poolId !== 'string' || poolId === '' || typeof pool !== 'object' || pool === null) {
      throw new StrataError('INVALID_ARGUMENT', { field: 'pool', reason: 'a pool id and its settings' });
    }
    if (!this.serves(pool)) {
      throw new StrataError('UNAVAILABLE', {
        what: `storage pool ${poolId}`,
        reason: `this storage node does not serve ${pool.provider} pools at ${poolDirectory(pool) ?? pool.url}`,
      });
    }
    const key = JSON.stringify([
      pool.provider,
      pool.url,
      pool.details,
      pool.capacityBytes,
      pool.capacityIops,
    ]);
    const known = this.#drivers.get(poolId);
    if (known?.key === key) return known.driver;
    const factory = this.factories[pool.provider];
    if (!factory) throw new StrataError('STORAGE_DRIVER_NOT_FOUND', { name: pool.provider });
    const driver = factory({ ...pool, name: poolId });
    // Settings changed: the old instance holds nothing a new one needs (state lives with the pool).
    if (known) void known.driver.close?.();
    this.#drivers.set(poolId, { key, driver, pool });
    // a lost write only delays the driver's start after the next restart to the first call
    // one write at a time, each of the whole set as it is when it runs
    this.#saving = this.#saving.then(() => this.#remember()).catch(() => undefined);
    return driver;
  }

  async close(): Promise<void> {
    for (const { driver } of this.#drivers.values()) await driver.close?.();
    this.#drivers.clear();
  }
}
