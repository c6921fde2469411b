import type { StorageContext } from '@strata/core';
import type { AgentPort } from '../agent-port.js';
import { holdAroundOverlay, releaseHold } from '../hold/index.js';
import { hostFiles } from '../host-files.js';
import { snapshotFile } from '../naming.js';

/** The running guest whose disks a group snapshot cuts, and where its transient overlays go. */
export interface GroupGuest {
  readonly hostId: string;
  readonly vm: string;
  readonly vmId: string;
  readonly stateDir: string;
  /** Names the transient overlays: the group's first snapshot id, stable across retries. */
  readonly groupKey: string;
}

export interface GroupCutDeps {
  readonly agent: AgentPort;
}

export function transientOverlay(guest: GroupGuest, target: string): string {
  return snapshotFile(guest.stateDir, guest.vmId, guest.groupKey, `${target}.group.qcow2`);
}

/**
 * Freezes the guest only around one atomic overlay over the given disks, which stops every one of
 * them at the same instant (a freeze alone stops filesystem writes, not raw-device writes): the
 * hold every snapshot uses (orchestration/hold: the agent's watchdog releases the guest at the
 * configured deadline, STRATA_HOLD_DEADLINE_MS). Answers how long the guest was frozen. Past the
 * deadline: HOLD_EXPIRED, and the caller's compensation commits the overlay back.
 */
export function freezeUnderOverlay(
  deps: GroupCutDeps,
  guest: GroupGuest,
  targets: readonly string[],
  signal: AbortSignal,
  deadlineMs?: number,
): Promise<number> {
  const disks = targets.map((target) => ({ target, overlayPath: transientOverlay(guest, target) }));
  return holdAroundOverlay(
    deps.agent,
    {
      hostId: guest.hostId,
      vm: guest.vm,
      vmId: guest.vmId,
      hold: 'guest',
      disks,
      ...(deadlineMs !== undefined && { deadlineMs }),
    },
    signal,
  );
}

/**
 * A cut of a running guest's disks: the guest is frozen only for the atomic overlay over them,
 * `take` snapshots the now-still backend volumes with the guest running (however slow a backend
 * is), and the overlays are committed back. A failure leaves the overlays for undoGroupCut.
 */
export async function cutUnderFreeze<T>(
  deps: GroupCutDeps,
  guest: GroupGuest,
  targets: readonly string[],
  signal: AbortSignal,
  take: () => Promise<T>,
): Promise<{ holdMs: number; taken: T }> {
  const holdMs = await freezeUnderOverlay(deps, guest, targets, signal);
  const taken = await take();
  await commitBack(deps, guest, targets, signal);
  return { holdMs, taken };
}

/** Merges the guest's writes since the cut back into each backend volume and drops the overlays. */
export async function commitBack(
  deps: GroupCutDeps,
  guest: GroupGuest,
  targets: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(
    targets.map((target) =>
      deps.agent.send(guest.hostId, 'snapshot.blockCommit', { vm: guest.vm, target }, { signal }),
    ),
  );
  await removeTransientOverlays(deps, guest, targets);
}

/**
 * Undoes the guest side of a group cut, safely more than once (also after a crash): thaws, and
 * commits back every disk still on one of this group's transient overlays.
 */
export async function undoGroupCut(
  deps: GroupCutDeps,
  guest: GroupGuest,
  targets: readonly string[],
  ctx: StorageContext,
): Promise<void> {
  await releaseHold(deps.agent, guest.hostId, guest.vm, 'guest');
  const state = await deps.agent.send(guest.hostId, 'vm.state', { vm: guest.vm });
  for (const disk of state.disks) {
    if (targets.includes(disk.target) && disk.source === transientOverlay(guest, disk.target)) {
      ctx.log?.('committing back a transient overlay of a failed group snapshot', { target: disk.target });
      await deps.agent.send(guest.hostId, 'snapshot.blockCommit', { vm: guest.vm, target: disk.target });
    }
  }
  await removeTransientOverlays(deps, guest, targets);
}

/** The transient overlays live in the host state directory: its agent removes them. */
async function removeTransientOverlays(
  deps: GroupCutDeps,
  guest: GroupGuest,
  targets: readonly string[],
): Promise<void> {
  const files = hostFiles(deps.agent, guest.hostId);
  for (const target of targets) await files.remove(transientOverlay(guest, target));
}
