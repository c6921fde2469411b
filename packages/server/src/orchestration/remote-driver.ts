import {
  StrataError,
  throwIfAborted,
  type DriverCapabilities,
  type StorageCallMethod,
  type StorageContext,
  type StorageDriver,
  type StoragePoolSettings,
  type VmSnapshotPart,
} from '@strata/core';
import type { AgentPort } from './agent-port.js';

/** How long a storage node may take per call, unless the driver is told otherwise. */
export function defaultStorageDeadlineMs(method: StorageCallMethod): number {
  switch (method) {
    // Full copies (qemu-img convert) grow with the volume.
    case 'createVolumeFromSnapshot':
    case 'createVolumeFromTemplate':
      return 1_800_000;
    case 'getVolume':
    case 'listVolumes':
    case 'listSnapshots':
    case 'snapshotUsage':
    case 'capacity':
    case 'connectionInfo':
    case 'listVmSnapshotParts':
    case 'listAccess':
      return 60_000;
    default:
      return 600_000;
  }
}

/** Past the node's deadline, the time its coded answer gets to come back before the server gives up. */
const ANSWER_GRACE_MS = 15_000;

export interface RemoteDriverOptions {
  /** The pool's id: the instance name on both sides. */
  readonly name: string;
  readonly type: string;
  readonly pool: StoragePoolSettings;
  /** The local driver type's own (remote and local answer the same). */
  readonly capabilities: DriverCapabilities;
  /** Whether the type implements listVmSnapshotParts. */
  readonly vmSnapshotParts: boolean;
  /** Whether the type implements listAccess (the orphan scan's grants); default no. */
  readonly accessList?: boolean;
  readonly agent: AgentPort;
  /** The host whose agent serves this pool now (a storage node), or UNAVAILABLE. */
  readonly locate: () => Promise<string>;
  readonly deadlineMs?: (method: StorageCallMethod) => number;
}

/**
 * A StorageDriver whose every call runs on a storage node (ADR 0003): `storage.call` over the agent
 * channel to an agent that serves the pool. Results and coded errors cross unchanged. The caller's
 * signal crosses as a deadline: when it fires first, the caller stops waiting (STORAGE_CANCELLED)
 * and the node stops at the deadline; a retry with the same ids finishes what was begun, since
 * every mutating method is idempotent on them.
 */
export class RemoteStorageDriver implements StorageDriver {
  readonly type: string;
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  readonly listVmSnapshotParts?: (ctx: StorageContext) => Promise<readonly VmSnapshotPart[]>;
  readonly listAccess?: (ctx: StorageContext, req: { volumeId: string }) => Promise<readonly string[]>;

  constructor(private readonly options: RemoteDriverOptions) {
    this.type = options.type;
    this.name = options.name;
    this.capabilities = options.capabilities;
    if (options.vmSnapshotParts) this.listVmSnapshotParts = (ctx) => this.#call(ctx, 'listVmSnapshotParts');
    if (options.accessList) this.listAccess = (ctx, req) => this.#call(ctx, 'listAccess', req);
  }

  async #call<T>(ctx: StorageContext, method: StorageCallMethod, request?: unknown): Promise<T> {
    throwIfAborted(ctx.signal, method);
    const deadlineMs = (this.options.deadlineMs ?? defaultStorageDeadlineMs)(method);
    const hostId = await this.options.locate();
    throwIfAborted(ctx.signal, method);
    const sent = this.options.agent.send(
      hostId,
      'storage.call',
      {
        poolId: this.name,
        pool: this.options.pool,
        method,
        ...(request !== undefined && { request }),
        deadlineMs,
      },
      { timeoutMs: deadlineMs + ANSWER_GRACE_MS, signal: ctx.signal },
    );
    return (await abortable(sent, ctx.signal, method)).result as T;
  }

  createVolume: StorageDriver['createVolume'] = (ctx, req) => this.#call(ctx, 'createVolume', req);
  deleteVolume: StorageDriver['deleteVolume'] = (ctx, req) => this.#call(ctx, 'deleteVolume', req);
  resizeVolume: StorageDriver['resizeVolume'] = (ctx, req) => this.#call(ctx, 'resizeVolume', req);
  getVolume: StorageDriver['getVolume'] = (ctx, req) => this.#call(ctx, 'getVolume', req);
  listVolumes: StorageDriver['listVolumes'] = (ctx) => this.#call(ctx, 'listVolumes');
  grantAccess: StorageDriver['grantAccess'] = (ctx, req) => this.#call(ctx, 'grantAccess', req);
  revokeAccess: StorageDriver['revokeAccess'] = (ctx, req) => this.#call(ctx, 'revokeAccess', req);
  connectionInfo: StorageDriver['connectionInfo'] = (ctx, req) => this.#call(ctx, 'connectionInfo', req);
  fenceHost: StorageDriver['fenceHost'] = (ctx, req) => this.#call(ctx, 'fenceHost', req);
  createSnapshot: StorageDriver['createSnapshot'] = (ctx, req) => this.#call(ctx, 'createSnapshot', req);
  deleteSnapshot: StorageDriver['deleteSnapshot'] = (ctx, req) => this.#call(ctx, 'deleteSnapshot', req);
  revertSnapshot: StorageDriver['revertSnapshot'] = (ctx, req) => this.#call(ctx, 'revertSnapshot', req);
  listSnapshots: StorageDriver['listSnapshots'] = (ctx, req) => this.#call(ctx, 'listSnapshots', req);
  snapshotUsage: StorageDriver['snapshotUsage'] = (ctx, req) => this.#call(ctx, 'snapshotUsage', req);
  createVolumeFromSnapshot: StorageDriver['createVolumeFromSnapshot'] = (ctx, req) =>
    this.#call(ctx, 'createVolumeFromSnapshot', req);
  createVolumeFromTemplate: StorageDriver['createVolumeFromTemplate'] = (ctx, req) =>
    this.#call(ctx, 'createVolumeFromTemplate', req);
  groupSnapshot: StorageDriver['groupSnapshot'] = (ctx, req) => this.#call(ctx, 'groupSnapshot', req);
  capacity: StorageDriver['capacity'] = (ctx) => this.#call(ctx, 'capacity');
  setQos: StorageDriver['setQos'] = (ctx, req) => this.#call(ctx, 'setQos', req);
  takeVmSnapshot: StorageDriver['takeVmSnapshot'] = (ctx, req) => this.#call(ctx, 'takeVmSnapshot', req);
  revertVmSnapshot: StorageDriver['revertVmSnapshot'] = (ctx, req) =>
    this.#call(ctx, 'revertVmSnapshot', req);
  deleteVmSnapshot: StorageDriver['deleteVmSnapshot'] = (ctx, req) =>
    this.#call(ctx, 'deleteVmSnapshot', req);
}

/** Waits for `work` unless the signal fires first: then STORAGE_CANCELLED, as a local driver answers. */
function abortable<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new StrataError('STORAGE_CANCELLED', { what }));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}
