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
  let pid: number;
  try {
    pid = Number((await readFile(join(runDir, `${vm}.pid`), 'utf8')).trim());
  } catch {
    return none;
  }
  if (!Number.isInteger(pid) || pid <= 1) return none;
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const before: Array<[number, number]> = [];
  for (const t of tids) {
    const tid = Number(t);
    try {
      const was = getPriority(tid);
      setPriority(tid, HELD_NICE);
      before.push([tid, was]);
    } catch {
      // gone, or not permitted: that thread keeps its priority
    }
  }
  return {
    restore() {
      for (const [tid, was] of before) {
        try {
          setPriority(tid, was);
        } catch {
          // the thread ended meanwhile
        }
      }
    },
  };
}
