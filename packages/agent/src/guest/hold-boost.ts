import { readdir, readFile } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';

/** The nice value of a held guest's QEMU threads (the agent runs as root; else nothing changes). */
const HELD_NICE = -10;

export interface Boost {
  /** Puts every thread back at the priority it had. */
  restore(): void;
}

const none: Boost = { restore: () => undefined };

/**
 * Raises the CPU priority of a guest's QEMU threads while the guest is held. A freeze needs the
 * guest's own qemu-ga and kernel to run (and a pause, QEMU's main loop): on a host whose CPUs the
 * other guests keep busy they wait their turn, and the hold stretches. Best effort: a VM whose pid
 * file cannot be read (not on this host's libvirt) is held at normal priority.
 */
export async function boostGuest(vm: string, runDir = '/run/libvirt/qemu'): Promise<Boost> {
  return boostThreads(await pidIn(join(runDir, `${vm}.pid`)));
}

/**
 * What a hold waits on, raised while the guest is held: the guest's QEMU threads, and this agent's
 * own event loop, which notices each step's end and starts the next. A busy host's other guests
 * then wait, not the hold. (libvirtd is left alone: a QEMU it starts, or a thread it makes, during
 * the hold would inherit the raised priority and keep it.)
 */
export async function boostHold(vm: string, qemuRunDir = '/run/libvirt/qemu'): Promise<Boost> {
  const boosts = [await boostGuest(vm, qemuRunDir), boostTids([0])];
  return { restore: () => boosts.forEach((b) => b.restore()) };
}

async function pidIn(file: string): Promise<number | null> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

async function boostThreads(pid: number | null): Promise<Boost> {
  if (pid === null) return none;
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  return boostTids(tids.map(Number));
}

/** Threads this agent raised, with the priority each had and how many holds want it raised. */
const raised = new Map<number, { was: number; holds: number }>();

/**
 * `0` is the calling thread (this agent's event loop). Counted: two holds at once on this host
 * share the agent, and the first to end must not lower it under the other.
 */
function boostTids(tids: readonly number[]): Boost {
  const mine: number[] = [];
  for (const tid of tids) {
    const held = raised.get(tid);
    if (held) {
      held.holds++;
      mine.push(tid);
      continue;
    }
    try {
      const was = getPriority(tid);
      if (was <= HELD_NICE) continue;
      setPriority(tid, HELD_NICE);
      raised.set(tid, { was, holds: 1 });
      mine.push(tid);
    } catch {
      // gone, or not permitted: that thread keeps its priority
    }
  }
  return {
    restore() {
      for (const tid of mine.splice(0)) {
        const held = raised.get(tid);
        if (!held || --held.holds > 0) continue;
        raised.delete(tid);
        try {
          setPriority(tid, held.was);
        } catch {
          // the thread ended meanwhile
        }
      }
    },
  };
}
