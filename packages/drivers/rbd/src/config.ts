import type { DriverFactory } from '@strata/core';
import { RbdDriver } from './driver.js';

/** One rbd pool as a Strata storage pool. */
export interface RbdDriverConfig {
  readonly pool: string;
  /** ceph.conf of the cluster (no admin key inside; passed with --conf, never through CEPH_CONF). */
  readonly confPath: string;
  /** Keyring of the control plane's cephx user. */
  readonly keyringPath: string;
  /** That user's id without `client.`; default `admin`. */
  readonly clientId?: string;
  /** Monitor host:port list handed to hosts (msgr v2, port 3300). */
  readonly monitors: readonly string[];
  /** The pool's IOPS capacity for admission on min IOPS; 0 or absent: unlimited. */
  readonly capacityIops?: number;
  /** Thin provisioning: bytes admitted up to cluster size × this; default 4. */
  readonly overprovisionFactor?: number;
  /** Per-command deadline in ms; default 60 s. */
  readonly timeoutMs?: number;
}

export const createRbdDriver: DriverFactory<RbdDriverConfig> = (name, config) => new RbdDriver(name, config);
