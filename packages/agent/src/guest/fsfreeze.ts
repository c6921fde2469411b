import { EventEmitter } from 'node:events';
import { isStrataError, StrataError, type FrozenGuestReport } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';
import { adoptWatchdog, DEFAULT_HOLD_DIR, readHolds, removeHold, writeHold } from './hold-records.js';
import { startThawWatchdog, type Watchdog } from './thaw-watchdog.js';

export interface FreezeResult {
  readonly filesystems: number;
  readonly frozenAt: string;
  readonly deadlineAt: string;
  readonly freezeMs: number;
}

export interface ThawResult {
  readonly filesystems: number;
  readonly frozenForMs: number;
  readonly thawMs: number;
  readonly reason: 'requested' | 'deadline';
}

interface Frozen {
  readonly frozenAt: number;
  readonly deadlineAt: number;
  readonly timer: NodeJS.Timeout;
  readonly watchdog: Watchdog;
}

function count(text: string): number {
  const m = /(\d+)/.exec(text);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

function checkDeadline(deadlineMs: number): void {
  if (!(deadlineMs > 0 && deadlineMs <= 600_000))
    throw new StrataError('INVALID_ARGUMENT', { field: 'deadlineMs', reason: 'must be in (0, 600000]' });
}

/**
 * Freeze and thaw through libvirt's own commands (domfsfreeze/domfsthaw), with a deadline that
 * holds even if this process dies: before freezing, a detached watchdog is started that thaws
 * at the deadline unless cancelled, and this process also thaws on its own timer.
 *
 * Emits `thawed` ({ vm, reason, frozenForMs }) for every thaw it performs.
 */
export class FreezeManager extends EventEmitter {
  private readonly frozen = new Map<string, Frozen>();

  constructor(
    private readonly virsh: Virsh,
    private readonly holdDir: string = DEFAULT_HOLD_DIR,
  ) {
    super();
  }

  async freeze(vm: string, deadlineMs: number): Promise<FreezeResult> {
    checkDeadline(deadlineMs);
    if (this.frozen.has(vm)) throw new StrataError('CONFLICT', { reason: `guest ${vm} is already frozen` });
    const started = Date.now();
    const deadlineAt = started + deadlineMs;
    // the watchdog first: from here on the guest cannot stay frozen past the deadline
    const watchdog = startThawWatchdog(this.virsh.uri, vm, deadlineMs);
    // recorded before the freeze, not inside it: an agent that dies during the freeze leaves the
    // record for its successor, and the guest is not held while it is written
    await writeHold(this.holdDir, 'freeze', {
      vm,
      heldAt: Date.now(),
      deadlineAt,
      watchdogPid: watchdog.pid,
    }).catch((err: unknown) => this.emit('thaw-error', { vm, err }));
    let text: string;
    // the hold starts here, not before the watchdog's spawn (whose deadline counts from `started`)
    const frozenAt = Date.now();
    const t0 = performance.now();
    try {
      text = await this.virsh.run(['domfsfreeze', '--domain', vm], {
        vm,
        timeoutMs: deadlineMs,
        verbose: true,
        urgent: true,
      });
    } catch (err) {
      // a freeze that failed half-way may have frozen some filesystems: thaw them now
      await this.virsh.run(['domfsthaw', '--domain', vm], { vm }).catch(() => undefined);
      watchdog.cancel();
      await removeHold(this.holdDir, 'freeze', vm);
      if (
        isStrataError(err, 'VM_NOT_FOUND') ||
        isStrataError(err, 'VM_NOT_RUNNING') ||
        isStrataError(err, 'GUEST_AGENT_UNAVAILABLE')
      )
        throw err;
      throw new StrataError('GUEST_FREEZE_FAILED', { vm, reason: (err as Error).message }, { cause: err });
    }
    const freezeMs = performance.now() - t0;
    const timer = setTimeout(
      () => {
        this.thaw(vm, 'deadline').catch((err: unknown) => this.emit('thaw-error', { vm, err }));
      },
      Math.max(0, deadlineAt - Date.now()),
    );
    this.frozen.set(vm, { frozenAt, deadlineAt, timer, watchdog });
    return {
      filesystems: count(text),
      frozenAt: new Date(frozenAt).toISOString(),
      deadlineAt: new Date(deadlineAt).toISOString(),
      freezeMs,
    };
  }

  /**
   * Guards a freeze that libvirt itself makes and ends inside one call (`snapshot-create
   * --quiesce`): the same detached watchdog, hold record and timer as freeze(), armed before the
   * call, so the guest is thawed at the deadline even if libvirt or this agent hangs or dies inside
   * it. Answers the call's own result; the guard is dropped when the call ends.
   */
  async guarded<T>(vm: string, deadlineMs: number, call: () => Promise<T>): Promise<T> {
    checkDeadline(deadlineMs);
    if (this.frozen.has(vm)) throw new StrataError('CONFLICT', { reason: `guest ${vm} is already frozen` });
    const heldAt = Date.now();
    const deadlineAt = heldAt + deadlineMs;
    const watchdog = startThawWatchdog(this.virsh.uri, vm, deadlineMs);
    await writeHold(this.holdDir, 'freeze', { vm, heldAt, deadlineAt, watchdogPid: watchdog.pid }).catch(
      (err: unknown) => this.emit('thaw-error', { vm, err }),
    );
    const timer = setTimeout(() => {
      this.thaw(vm, 'deadline').catch((err: unknown) => this.emit('thaw-error', { vm, err }));
    }, deadlineMs);
    this.frozen.set(vm, { frozenAt: heldAt, deadlineAt, timer, watchdog });
    try {
      return await call();
    } finally {
      // libvirt thawed inside its call (or the deadline's thaw already dropped the guard)
      if (this.frozen.get(vm)?.watchdog === watchdog) {
        clearTimeout(timer);
        watchdog.cancel();
        this.frozen.delete(vm);
        await removeHold(this.holdDir, 'freeze', vm);
      }
    }
  }

  async thaw(vm: string, reason: 'requested' | 'deadline' = 'requested'): Promise<ThawResult> {
    const entry = this.frozen.get(vm);
    if (entry) clearTimeout(entry.timer);
    const t0 = performance.now();
    let text: string;
    try {
      text = await this.virsh.run(['domfsthaw', '--domain', vm], {
        vm,
        timeoutMs: 30_000,
        verbose: true,
        urgent: true,
      });
    } catch (err) {
      // the watchdog stays armed: it will keep trying at the deadline
      if (isStrataError(err, 'VM_NOT_FOUND') || isStrataError(err, 'VM_NOT_RUNNING')) {
        entry?.watchdog.cancel();
        this.frozen.delete(vm);
        await removeHold(this.holdDir, 'freeze', vm);
        throw err;
      }
      throw new StrataError('GUEST_THAW_FAILED', { vm, reason: (err as Error).message }, { cause: err });
    }
    const thawMs = performance.now() - t0;
    entry?.watchdog.cancel();
    this.frozen.delete(vm);
    await removeHold(this.holdDir, 'freeze', vm);
    const frozenForMs = entry ? Date.now() - entry.frozenAt : 0;
    const result: ThawResult = { filesystems: count(text), frozenForMs, thawMs, reason };
    this.emit('thawed', { vm, reason, frozenForMs });
    return result;
  }

  /** Guests this agent holds frozen now, with their deadlines. */
  status(): FrozenGuestReport[] {
    return [...this.frozen.entries()].map(([vm, f]) => ({
      vm,
      frozenAt: new Date(f.frozenAt).toISOString(),
      deadlineAt: new Date(f.deadlineAt).toISOString(),
    }));
  }

  isFrozen(vm: string): boolean {
    return this.frozen.has(vm);
  }

  /** Drops a guest that no longer runs (stopped or destroyed): nothing is left to thaw. */
  forget(vm: string): void {
    const entry = this.frozen.get(vm);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.watchdog.cancel();
    this.frozen.delete(vm);
    void removeHold(this.holdDir, 'freeze', vm);
  }

  /**
   * Takes over the freezes an earlier agent process recorded (it crashed or was restarted before
   * their deadlines): they are reported again and thawed at their deadline by this process too,
   * besides their still-running watchdogs. Freezes already past their deadline are thawed now.
   */
  async adopt(): Promise<string[]> {
    const adopted: string[] = [];
    for (const hold of await readHolds(this.holdDir, 'freeze')) {
      if (this.frozen.has(hold.vm)) continue;
      const watchdog = adoptWatchdog(hold.watchdogPid);
      const timer = setTimeout(
        () => {
          this.thaw(hold.vm, 'deadline').catch((err: unknown) =>
            this.emit('thaw-error', { vm: hold.vm, err }),
          );
        },
        Math.max(0, hold.deadlineAt - Date.now()),
      );
      this.frozen.set(hold.vm, { frozenAt: hold.heldAt, deadlineAt: hold.deadlineAt, timer, watchdog });
      adopted.push(hold.vm);
    }
    return adopted;
  }

  /** Thaws everything (agent shutdown). */
  async thawAll(): Promise<void> {
    await Promise.allSettled([...this.frozen.keys()].map((vm) => this.thaw(vm, 'requested')));
  }
}
