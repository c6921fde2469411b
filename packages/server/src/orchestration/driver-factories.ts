import { StrataError, type StoragePool } from '@strata/core';
import { Qcow2Driver } from '@strata/driver-qcow2';
import { createRbdDriver } from '@strata/driver-rbd';
import { TgtDriver } from '@strata/driver-tgt';
import type { PoolDriverFactory } from './pool-drivers.js';

function parseUrl(pool: StoragePool, schemes: readonly string[]): URL {
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

function detail(pool: StoragePool, key: string): string | undefined {
  const value = pool.details[key];
  return value === undefined || value === '' ? undefined : value;
}

function required(pool: StoragePool, key: string): string {
  const value = detail(pool, key);
  if (!value)
    throw new StrataError('INVALID_ARGUMENT', {
      field: `details.${key}`,
      reason: `a ${pool.provider} pool needs it`,
    });
  return value;
}

/**
 * How a pool's row becomes a driver. URLs:
 * - qcow2: `file:///srv/pool` (a directory every host mounts at the same path);
 * - tgt: `iscsi://portal-host:3260/srv/reflink-pool` (tgtd's portal, and the pool directory on the
 *   reflink filesystem where tgtd runs); details.chapKey turns CHAP on;
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
    return new TgtDriver(pool.name, {
      root: decodeURIComponent(url.pathname),
      portal: `${url.hostname}:${url.port || '3260'}`,
      capacityIops: pool.capacityIops,
      ...(pool.capacityBytes > 0 && { capacityBytes: pool.capacityBytes }),
      ...(chapKey && { chapKey }),
      ...(iqnPrefix && { iqnPrefix }),
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
