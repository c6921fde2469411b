import { withPrivateDir } from '../host/secrets.js';
import type { FreezeManager } from '../guest/fsfreeze.js';
import { boostHold } from '../guest/hold-boost.js';
import type { PauseManager } from '../guest/pause.js';
import type { Virsh } from '../virsh/virsh.js';
import { createFromFile, diskOnlyFlags, diskOnlyXml, writeXml, type TargetsOf } from './external.js';
import type { OverlaySpec } from './snapshot-xml.js';

export type CutHold = 'guest' | 'pause';

export interface HeldCutResult {
  /** How long the guest was held: from just before the freeze (or pause) to its release. */
  readonly heldMs: number;
  /** The atomic snapshot call alone. */
  readonly snapshotMs: number;
  readonly tookMs: number;
}

export interface HeldCutDeps {
  readonly virsh: Virsh;
  readonly targetsOf: TargetsOf;
  readonly freezes: FreezeManager;
  readonly pauses: PauseManager;
  /** Where libvirt keeps its QEMU pid files (the held guest's threads are boosted: guest/hold-boost.ts). */
  readonly qemuRunDir?: string;
}

/**
 * One atomic disk-only snapshot with the guest held around it (its filesystems frozen, or its
 * vCPUs paused), all on this host: the XML, the overlay directories and the deadline watchdog are
 * ready before the hold starts, and no round trip to the server falls inside it; the guest's QEMU
 * threads run at a raised priority meanwhile. The hold is released whether the cut worked or
 * not; past the deadline the watchdog releases it on its own.
 */
export async function heldCut(
  deps: HeldCutDeps,
  vm: string,
  hold: CutHold,
  deadlineMs: number,
  overlays: readonly OverlaySpec[],
): Promise<HeldCutResult> {
  const started = performance.now();
  const xml = await diskOnlyXml(deps.targetsOf, vm, overlays);
  return withPrivateDir(async (dir) => {
    const path = await writeXml(dir, xml);
    const boost = await boostHold(vm, deps.qemuRunDir);
    try {
      const holdStart = performance.now();
      if (hold === 'guest') await deps.freezes.freeze(vm, deadlineMs);
      else await deps.pauses.pause(vm, deadlineMs);
      let snapshotMs = 0;
      let heldMs = 0;
      try {
        snapshotMs = await createFromFile(deps.virsh, vm, path, diskOnlyFlags(false));
      } finally {
        // The cut's own span counts too: past the deadline the watchdog (or the manager's timer)
        // released the guest before the cut ended, and the release below then reports nothing held.
        const cutSpanMs = performance.now() - holdStart;
        const released =
          hold === 'guest'
            ? (await deps.freezes.thaw(vm, 'requested')).frozenForMs
            : (await deps.pauses.resume(vm, 'requested')).pausedForMs;
        heldMs = Math.max(released, cutSpanMs);
      }
      return { heldMs, snapshotMs, tookMs: performance.now() - started };
    } finally {
      boost.restore();
    }
  });
}
