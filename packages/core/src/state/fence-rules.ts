import type { HostState, VmState } from './machines.js';

/** What a start of a VM must do first about the host the VM was last recorded on. */
export type StartFencing =
  /** Nothing: no recorded host, or one that is reachable (Up, maintenance) or already fenced. */
  | { readonly action: 'none'; readonly why: string }
  /**
   * Fence the lost host first, once it has been silent for `waitMs` more (a host only just
   * Disconnected may be an agent restarting, or a server that came back before its agents).
   */
  | { readonly action: 'fence'; readonly hostId: string; readonly waitMs: number; readonly why: string }
  /** The start cannot go on (the VM runs on a host that is Up, or a job is starting it). */
  | { readonly action: 'refuse'; readonly why: string };

export interface StartFencingFacts {
  readonly vmState: VmState;
  /** The host the VM was last recorded on, or null. */
  readonly host: {
    readonly id: string;
    readonly state: HostState;
    /** When any server last heard from its agent (ms since the epoch), or null. */
    readonly lastSeenMs: number | null;
  } | null;
  readonly nowMs: number;
  /**
   * When the deciding server started: silence before it is not evidence (it heard nothing since it
   * was down), so the grace counts from the later of the two.
   */
  readonly serverStartedMs: number;
  /** How long an agent may be gone before its host counts as lost (the reconnect grace). */
  readonly graceMs: number;
}

const LOST: ReadonlySet<HostState> = new Set(['Disconnected', 'Fencing']);

/**
 * The rule of issue 20: a VM whose host is down may start on another host only after that host is
 * fenced from the VM's disks, never before. A VM whose row still says it runs (Running, Stopping,
 * Error) may be started only when its host is lost: the fence then stops it in the database.
 */
export function startFencing(f: StartFencingFacts): StartFencing {
  const h = f.host;
  if (f.vmState === 'Starting') return { action: 'refuse', why: 'a job is starting it' };
  if (f.vmState === 'Migrating') return { action: 'refuse', why: 'a job is migrating it' };
  if (f.vmState === 'Destroyed') return { action: 'refuse', why: 'it is Destroyed' };
  const alive = f.vmState !== 'Stopped';
  if (!h) {
    return alive
      ? { action: 'refuse', why: `it is ${f.vmState} and has no host` }
      : { action: 'none', why: 'it has no recorded host' };
  }
  if (LOST.has(h.state)) {
    const since = Math.max(h.lastSeenMs ?? 0, f.serverStartedMs);
    const waitMs = Math.max(0, since + f.graceMs - f.nowMs);
    const fencing = h.state === 'Fencing' ? 'its fence did not finish' : 'its agent is gone';
    return { action: 'fence', hostId: h.id, waitMs, why: `host ${h.id} is ${h.state}: ${fencing}` };
  }
  if (h.state === 'Fenced') {
    // Fenced hosts' VMs are Stopped by the fence; one that is not (an Error row) is fenced again.
    return alive
      ? { action: 'fence', hostId: h.id, waitMs: 0, why: `host ${h.id} is Fenced but the VM is ${f.vmState}` }
      : { action: 'none', why: `host ${h.id} is Fenced` };
  }
  if (alive) return { action: 'refuse', why: `it is ${f.vmState} on host ${h.id}, which is ${h.state}` };
  return { action: 'none', why: `host ${h.id} is ${h.state}` };
}
