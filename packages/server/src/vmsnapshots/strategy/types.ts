import type { StorageContext, StrategyRegistry, VmSnapshotStrategy } from '@strata/core';
import type { Json } from '../../jobs/index.js';
import type { OrchestrationDeps } from '../../orchestration/deps.js';
import type { CutResult, StoredPlan } from '../plan.js';
import type { SnapshotRecord } from '../shared.js';

/** What a strategy works with: the orchestration's ports and the running job's storage context. */
export interface StrategyContext {
  readonly deps: OrchestrationDeps;
  readonly storage: StorageContext;
  /** The job doing the work: names made from it are the same when a step is replayed. */
  readonly jobId: string;
}

/** A take: the plan decided (and journaled) before the cut, and the snapshot's name. */
export interface TakeInput {
  readonly vmSnapshotId: string;
  readonly name: string;
  readonly plan: StoredPlan;
}

/** A volume whose active layer is now another file (qcow2 disks): recorded with the job's record. */
export interface ActiveLayer {
  readonly volumeId: string;
  readonly path: string;
}

/**
 * What a take made: one part per covered volume (recorded as the VM snapshot's volume snapshots),
 * the consistency it achieved, how long the guest was held, and the volumes' new active layers.
 */
export interface Taken extends CutResult {
  readonly activeLayers: readonly ActiveLayer[];
}

/** A revert: the snapshot as recorded and the VM's host now (null when it has none). */
export interface RevertInput {
  readonly snapshot: SnapshotRecord;
  readonly hostId: string | null;
}

/** A qcow2 disk reverted: its new active layer over the snapshot's frozen file, and the one it left. */
export interface RevertedFile {
  readonly volumeId: string;
  readonly frozenPath: string;
  readonly newActive: string;
  readonly oldActive: string | null;
}

export interface Reverted {
  readonly reverted: number;
  /**
   * Recorded as the volumes' active layers; a memory restore starts the VM on them; an old active
   * layer no snapshot froze is dropped afterwards.
   */
  readonly files: readonly RevertedFile[];
}

export interface DeleteInput {
  readonly snapshot: SnapshotRecord;
}

/** A qcow2 part of a deleted snapshot: merged into (or kept under) the disk's active layer. */
export interface FileMerge {
  readonly volumeId: string;
  readonly frozenPath: string;
  /** The active layer over the frozen file, merged down into it; null when the file is kept. */
  readonly mergedActive: string | null;
  readonly running: boolean;
  /**
   * When the frozen file is kept: it and the layers under it that only this snapshot may have
   * held (a chain-depth flatten can leave a snapshot's file off the active chain). Dropped after
   * the record unless the volume's active layer or another snapshot still stands on them.
   */
  readonly unused?: readonly string[];
}

export interface Deleted {
  /** The parts the storage deleted, as the drivers answered. */
  readonly deleted: readonly string[];
  /** The frozen file merged becomes the volume's active layer with the record; files left are dropped after it. */
  readonly merges: readonly FileMerge[];
}

export interface StrategyOps {
  readonly ctx: StrategyContext;
  readonly take: TakeInput;
  readonly taken: Taken;
  readonly revert: RevertInput;
  readonly reverted: Reverted;
  readonly delete: DeleteInput;
  readonly deleted: Deleted;
}

/**
 * A VM-snapshot strategy of this server (docs/vm-snapshots.md, writing a strategy). Every
 * operation may run again after a crash (the job replays its step): it must be idempotent.
 */
export interface SnapshotStrategy extends VmSnapshotStrategy<StrategyOps> {
  /**
   * Undoes whatever part of a take exists (the take failed, or the job was interrupted or
   * cancelled): the VM's disks are back as they were and nothing the take made is left.
   */
  abandon(ctx: StrategyContext, input: TakeInput): Promise<void>;
  /**
   * Finishes a take after the snapshot is recorded Ready (the built-ins commit the transient
   * overlays over network disks back): the job's last step, run again after a crash until done,
   * never undone. The VM's next job waits for it. Optional: a take that leaves nothing to finish.
   */
  finishTake?(ctx: StrategyContext, input: TakeInput): Promise<Json>;
}

export type SnapshotStrategies = StrategyRegistry<SnapshotStrategy>;
