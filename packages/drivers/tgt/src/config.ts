import { createHmac } from 'node:crypto';

export interface TgtDriverConfig {
  /** Pool directory on a reflink filesystem (XFS reflink=1 or btrfs), local to tgtd. */
  readonly root: string;
  /** host:port hosts use to reach tgtd. */
  readonly portal: string;
  /** Pool IOPS capacity (CloudStack's capacityiops) for admission on min IOPS; 0 = unlimited. */
  readonly capacityIops: number;
  /** Pool byte capacity; default: the filesystem's size. */
  readonly capacityBytes?: number;
  /** Thin overcommit: provisioned bytes may reach capacity × this. Default 4. */
  readonly overcommit?: number;
  /** Enables CHAP: each volume's password is derived from this key, so restarts lose nothing. */
  readonly chapKey?: string;
  /** IQN prefix of the targets. Default iqn.2026-11.io.strata. */
  readonly iqnPrefix?: string;
  readonly tgtadm?: string;
  /** tgtd's management port (`tgtd -C N`); default tgtd's own (0). */
  readonly controlPort?: number;
  /**
   * How often the driver checks that tgtd still holds every volume's target (a restarted tgtd
   * holds none) and re-makes what is missing; 0 turns the check off. Default 2000 ms.
   */
  readonly watchIntervalMs?: number;
}

/** IQN-safe form of a free-form instance name (lower-case a-z, 0-9, '-'). */
export function iqnSlug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (s || 'pool').slice(0, 48);
}

export function chapCredentials(key: string, volumeId: string): { username: string; password: string } {
  const password = createHmac('sha256', key).update(volumeId).digest('base64url').slice(0, 16);
  return { username: `strata-${volumeId}`, password };
}
