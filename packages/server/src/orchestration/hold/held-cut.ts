import { StrataError } from '@strata/core';
import type { AgentPort } from '../agent-port.js';
import { holdDeadlineMs } from './deadline.js';

/** How a running guest is held still for an atomic overlay: its filesystems frozen, or its vCPUs paused. */
export type Hold = 'guest' | 'pause';

export interface HeldCut {
  readonly hostId: string;
  /** The libvirt domain. */
  readonly vm: string;
  /** Names the VM in a HOLD_EXPIRED error (its id; the domain name when not given). */
  readonly vmId?: string;
  readonly hold: Hold;
  readonly disks: ReadonlyArray<{ readonly target: string; readonly overlayPath: string }>;
  /** Default: the configured deadline (STRATA_HOLD_DEADLINE_MS, else 5 s). */
  readonly deadlineMs?: number;
}

/**
 * The one hold every snapshot of a running guest uses (VM snapshots, group and single-volume
 * snapshots): the agent holds the guest, takes one atomic overlay over the given disks and releases
 * it, all on the host, with its detached watchdog armed first so that the guest is released at the
 * deadline even if the agent dies or libvirt hangs. Answers how long the guest was actually held.
 *
 * A hold that reached its deadline was released by the watchdog, possibly before the overlay: the
 * disks are then not one point in time, and the cut is refused (HOLD_EXPIRED); the caller's undo
 * commits back whatever overlay exists.
 */
export async function holdAroundOverlay(
  agent: AgentPort,
  cut: HeldCut,
  signal?: AbortSignal,
): Promise<number> {
  const deadlineMs = cut.deadlineMs ?? holdDeadlineMs();
  const { heldMs } = await agent.send(
    cut.hostId,
    'snapshot.heldCut',
    { vm: cut.vm, hold: cut.hold, deadlineMs, disks: cut.disks },
    signal ? { signal } : {},
  );
  if (heldMs >= deadlineMs)
    throw new StrataError('HOLD_EXPIRED', {
      vm: cut.vmId ?? cut.vm,
      deadlineMs,
      holdMs: Math.round(heldMs),
    });
  return heldMs;
}

/**
 * Ends a hold that may still be on (undo after a failure or a crash), safely more than once: a
 * guest neither frozen nor paused any more is left as it is.
 */
export async function releaseHold(agent: AgentPort, hostId: string, vm: string, hold: Hold): Promise<void> {
  if (hold === 'guest') await agent.send(hostId, 'guest.thaw', { vm }).catch(() => undefined);
  else await agent.send(hostId, 'vm.resume', { vm }).catch(() => undefined);
}
