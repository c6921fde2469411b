import {
  StrataError,
  type DriverCapabilities,
  type StorageDriver,
  type StoragePoolSettings,
} from '@strata/core';
import { Qcow2Driver, qcow2Capabilities } from '@strata/driver-qcow2';
import { createRbdDriver, rbdCapabilities } from '@strata/driver-rbd';
import { TgtDriver, tgtCapabilities } from '@strata/driver-tgt';

/** A pool's settings with the driver instance's name (the server and the node both use the pool's id). */
export type PoolDriverSettings = StoragePoolSettings & { readonly name: string };

/** Builds a driver instance for one pool, from the pool's provider, url and details. */
export type PoolDriverFactory = (pool: PoolDriverSettings) => StorageDriver;

function parseUrl(pool: PoolDriverSettings, schemes: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(pool.url);
  } catch {
    throw new StrataError('INVALID_ARGUMENT', { field: 'url', reason: `not a URL: ${pool.url}` });
  }
  if (!schemes.includes(url.protocol.replace(/:$/, ''))) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'url',
      reason: `a ${pool.provider} pool takes ${schemes.join(' or ')}:// URLs`,
    });
  }
  return url;
}

function detail(pool: PoolDriverSettings, key: string): string | undefined {
  const value = pool.details[key];
  return value === undefined || value === '' ? undefined : value;
}

function required(pool: PoolDriverSettings, key: string): string {
  const value = detail(pool, key);
  if (!value)
    throw new StrataError('INVALID_ARGUMENT', {
      field: `details.${key}`,
      reason: `a ${pool.provider} pool needs it`,
    });
  return value;
}

/**
 * How a pool's row becomes a driver, the same on the server (drivers run in-process) and on a
 * storage node (drivers served over the agent channel). URLs:
 * - qcow2: `file:///srv/pool` (a directory every host mounts at the same path);
 * - tgt: `iscsi://portal-host:3260/srv/reflink-pool` (tgtd's portal, and the pool directory on the
 *   reflink filesystem where tgtd runs); details.chapKey turns CHAP on, details.controlPort names
 *   tgtd's management port (`tgtd -C N`) when several tgtd run on the machine;
 * - rbd: `rbd://<ceph pool>`, details.confPath, details.keyringPath, details.monitors
 *   (comma-separated host:port, msgr v2), details.clientId.
 */
export const builtInDriverFactories: Readonly<Record<string, PoolDriverFactory>> = {
  qcow2: (pool) =>
    new Qcow2Driver(pool.name, {
      root: decodeURIComponent(parseUrl(pool, ['file']).pathname),
      capacityIops: pool.capacityIops,
      ...(pool.capacityBytes > 0 && { capacityBytes: pool.capacityBytes }),
    }),
  tgt: (pool) => {
    const url = parseUrl(pool, ['iscsi', 'tgt']);
    const chapKey = detail(pool, 'chapKey');
    const iqnPrefix = detail(pool, 'iqnPrefix');
    const controlPort = detail(pool, 'controlPort');
    return new TgtDriver(pool.name, {
      root: decodeURIComponent(url.pathname),
      portal: `${url.hostname}:${url.port || '3260'}`,
      capacityIops: pool.capacityIops,
      ...(pool.capacityBytes > 0 && { capacityBytes: pool.capacityBytes }),
      ...(chapKey && { chapKey }),
      ...(iqnPrefix && { iqnPrefix }),
      ...(controlPort && { controlPort: Number(controlPort) }),
    });
  },
  rbd: (pool) => {
    const url = parseUrl(pool, ['rbd']);
    const clientId = detail(pool, 'clientId');
    return createRbdDriver(pool.name, {
      pool: decodeURIComponent(url.hostname || url.pathname.replace(/^\/+/, '')),
      confPath: required(pool, 'confPath'),
      keyringPath: required(pool, 'keyringPath'),
      monitors: required(pool, 'monitors')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
      capacityIops: pool.capacityIops,
      ...(clientId && { clientId }),
    });
  },
};

/** Providers whose pool lives in a directory the driver's machine must have (qcow2, tgt). */
export const fileBackedProviders: readonly string[] = ['qcow2', 'tgt'];

/**
 * The directory a file-backed pool lives in (its URL's path), null for a provider that needs none
 * (rbd) or a URL that does not parse (the factory then refuses it with its coded error).
 */
export function poolDirectory(pool: Pick<StoragePoolSettings, 'provider' | 'url'>): string | null {
  if (!fileBackedProviders.includes(pool.provider)) return null;
  try {
    return decodeURIComponent(new URL(pool.url).pathname);
  } catch {
    return null;
  }
}

/** Each built-in driver type's capabilities (static per type): a remote driver answers the same. */
export const builtInCapabilities: Readonly<Record<string, DriverCapabilities>> = {
  qcow2: qcow2Capabilities,
  tgt: tgtCapabilities,
  rbd: rbdCapabilities,
};

/** Driver types that implement the optional listVmSnapshotParts. */
export const providersWithVmSnapshotParts: readonly string[] = ['rbd'];

/** Driver types that implement the optional listAccess (the hosts holding a grant on a volume). */
export const providersWithAccessList: readonly string[] = ['tgt'];
