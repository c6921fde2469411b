import type { StoragePool } from '../domain/entities.js';

/**
 * The driver methods a storage node serves over the agent channel (`storage.call`): every method
 * of StorageDriver that talks to the backend. `type`, `name`, `capabilities` and `close` stay on
 * the caller's side.
 */
export const storageCallMethods = [
  'createVolume',
  'deleteVolume',
  'resizeVolume',
  'getVolume',
  'listVolumes',
  'grantAccess',
  'revokeAccess',
  'connectionInfo',
  'fenceHost',
  'createSnapshot',
  'deleteSnapshot',
  'revertSnapshot',
  'listSnapshots',
  'snapshotUsage',
  'createVolumeFromSnapshot',
  'createVolumeFromTemplate',
  'groupSnapshot',
  'capacity',
  'setQos',
  'takeVmSnapshot',
  'revertVmSnapshot',
  'deleteVmSnapshot',
  'listVmSnapshotParts',
  // optional, like listVmSnapshotParts: the hosts holding a grant (tgt's ACLs; the orphan scan)
  'listAccess',
] as const;

export type StorageCallMethod = (typeof storageCallMethods)[number];

/** Methods that take no request object (the context only). */
export const storageCallsWithoutRequest: readonly StorageCallMethod[] = [
  'listVolumes',
  'capacity',
  'listVmSnapshotParts',
];

export function isStorageCallMethod(name: unknown): name is StorageCallMethod {
  return typeof name === 'string' && (storageCallMethods as readonly string[]).includes(name);
}

/** What a storage node needs to build the pool's driver where it runs: the pool row's settings. */
export type StoragePoolSettings = Pick<
  StoragePool,
  'provider' | 'url' | 'details' | 'capacityBytes' | 'capacityIops'
>;

/** One driver call sent to a storage node. */
export interface StorageCallParams {
  /** The pool's id: the driver instance's name on both sides (pool names are user strings). */
  readonly poolId: string;
  readonly pool: StoragePoolSettings;
  readonly method: StorageCallMethod;
  /** The method's request object (absent for the methods that take none). */
  readonly request?: unknown;
  /**
   * Milliseconds the node gives the call: past it the node aborts the driver's signal (the caller's
   * cancellation crosses the channel as this deadline).
   */
  readonly deadlineMs: number;
}

/** A storage call's answer: the driver method's result object. */
export interface StorageCallResult {
  readonly result: unknown;
}

/** What an agent in the storage role serves, announced in its facts. */
export interface StorageNodeFacts {
  /** Driver types it builds: `tgt`, `qcow2`, `rbd`. */
  readonly providers: readonly string[];
  /**
   * Directories it mounts (qcow2 pools) or holds (tgt pools' reflink directories): it serves a
   * file-backed pool whose directory is one of these or below one.
   */
  readonly poolDirs: readonly string[];
}
