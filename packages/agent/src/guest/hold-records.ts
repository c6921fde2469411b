import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Watchdog } from './thaw-watchdog.js';

/** Where holds (freezes and pauses) are recorded: tmpfs, since a reboot ends every hold anyway. */
export const DEFAULT_HOLD_DIR = '/run/strata-agent/holds';

/** A guest's filesystems frozen, or its vCPUs paused. */
export type HoldKind = 'freeze' | 'pause';

/** A hold recorded on disk, so an agent restarted before the deadline still knows it. */
export interface HoldRecord {
  readonly vm: string;
  /** When the hold began (ms since the epoch). */
  readonly heldAt: number;
  readonly deadlineAt: number;
  readonly watchdogPid: number;
}

function fileFor(dir: string, kind: HoldKind, vm: string): string {
  return join(dir, `${kind}-${createHash('sha256').update(vm).digest('hex').slice(0, 32)}.json`);
}

export async function writeHold(dir: string, kind: HoldKind, record: HoldRecord): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(fileFor(dir, kind, record.vm), JSON.stringify(record), { mode: 0o600 });
}

export async function removeHold(dir: string, kind: HoldKind, vm: string): Promise<void> {
  await rm(fileFor(dir, kind, vm), { force: true });
}

/** The holds of one kind recorded in `dir`; a record that cannot be read is dropped. */
export async function readHolds(dir: string, kind: HoldKind): Promise<HoldRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: HoldRecord[] = [];
  for (const name of names.filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.json'))) {
    try {
      // records written before pauses were recorded name the start `frozenAt`
      const r = JSON.parse(await readFile(join(dir, name), 'utf8')) as HoldRecord & { frozenAt?: number };
      out.push({
        vm: r.vm,
        heldAt: r.heldAt ?? r.frozenAt,
        deadlineAt: r.deadlineAt,
        watchdogPid: r.watchdogPid,
      });
    } catch {
      await rm(join(dir, name), { force: true });
    }
  }
  return out;
}

/**
 * A handle on a watchdog started by an earlier agent process. It is killed only if that pid is
 * still our watchdog (its command line names it), so a reused pid is never touched.
 */
export function adoptWatchdog(pid: number): Watchdog {
  return {
    pid,
    cancel: () => {
      void readFile(`/proc/${pid}/cmdline`, 'utf8')
        .then((cmd) => {
          if (cmd.includes('strata-deadline-watchdog')) process.kill(-pid, 'SIGKILL');
        })
        .catch(() => undefined);
    },
  };
}
