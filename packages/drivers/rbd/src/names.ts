import { createHash } from 'node:crypto';

/*
 * Backend names are derived from caller ids only (ids are held to [a-z0-9-]); names users type
 * never reach the cluster, so they need no escaping there.
 */

const VOLUME_PREFIX = 'vol-';
const SNAPSHOT_PREFIX = 'snap-';

export function imageName(volumeId: string): string {
  return `${VOLUME_PREFIX}${volumeId}`;
}

/** The volume id an image name stands for, or null for images this driver did not make. */
export function volumeIdOf(image: string): string | null {
  return image.startsWith(VOLUME_PREFIX) ? image.slice(VOLUME_PREFIX.length) : null;
}

export function snapName(snapshotId: string): string {
  return `${SNAPSHOT_PREFIX}${snapshotId}`;
}

export function snapshotIdOf(snap: string): string | null {
  return snap.startsWith(SNAPSHOT_PREFIX) ? snap.slice(SNAPSHOT_PREFIX.length) : null;
}

/** One rbd group per VM: an image belongs to at most one group, and a VM's disks snapshot together. */
export function vmGroupName(vmId: string): string {
  return `vm-${shortHash(vmId)}`;
}

/** Group snapshot name of one VM snapshot. */
export function vmGroupSnapName(vmSnapshotId: string): string {
  return `vms-${shortHash(vmSnapshotId)}`;
}

/** Only groups and group snapshots named as above are Strata's: others in the pool are left alone. */
export const isVmGroupName = (name: string): boolean => /^vm-[0-9a-f]{20}$/.test(name);
export const isVmGroupSnapName = (name: string): boolean => /^vms-[0-9a-f]{20}$/.test(name);

/** Pool-wide index image (its metadata maps snapshot ids to volumes). Not a volume: no prefix. */
export const INDEX_IMAGE = 'strata.index';

/** cephx id of one host's key for one pool: hosts never share a key, and no pool sees another's. */
export function hostUser(pool: string, hostId: string): string {
  return `strata-${shortHash(`${pool}\u0000${hostId}`)}`;
}

/** A host id of any spelling, as a short hex token for keys. */
export function hostHash(hostId: string): string {
  return shortHash(hostId);
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 20);
}

export function spec(pool: string, image: string, snap?: string): string {
  return snap === undefined ? `${pool}/${image}` : `${pool}/${image}@${snap}`;
}
