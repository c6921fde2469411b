import { EventEmitter } from 'node:events';
import { isStrataError, StrataError } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';
import { domState } from '../vm/domain-state.js';
import { adoptWatchdog, DEFAULT_HOLD_DIR, readHolds, removeHold, writeHold } from './hold-records.js';
import { startThawWatchdog, type Watchdog } from './thaw-watchdog.js';

export interface PauseResult {
  readonly pausedAt: string;
  readonly deadlineAt: string;
  readonly pauseMs: number;
}

export interface ResumeResult {
  readonly pausedForMs: number;
  readonly resumeMs: number;
  readonly reason: 'requested' | 'deadline';
}

interface Paused {
  readonly pausedAt: number;
  readonly deadlineAt: number;
  readonly timer: NodeJS.Timeout;
  readonly watchdog: Watchdog;
}

/**
 * The `pause` quiesce mode (vCPUs stopped for a crash-consistent cut) with the same guarantees as
 * a freeze (fsfreeze.ts): a detached watchdog resumes the VM at the deadline even if this process
 * dies, this process resumes it on its own timer too, and the pause is recorded in the hold
 * directory so that an agent restarted before the deadline takes it over (adopt).
 * Emits `resumed` ({ vm, reason, pausedForMs }).
 */
export class PauseManager extends EventEmitter {
  private readonly paused = new Map<string, Paused>();

  constructor(
    private readonly virsh: Virsh,
    private readonly holdDir: string = DEFAULT_HOLD_DIR,
  ) {
    super();
  }

  async pause(vm: string, deadlineMs: number): Promise<PauseResult> {
    if (!(deadlineMs > 0 && deadlineMs <= 600_000)) {
      throw new StrataError('INVALID_ARGUMENT', { field: 'deadlineMs', reason: 'must be in (0, 600000]' });
    }
    if (this.paused.has(vm)) throw new StrataError('CONFLICT', { reason: `VM ${vm} is already paused` });
    const started = Date.now();
    const deadlineAt = started + deadlineMs;
    const watchdog = startThawWatchdog(this.virsh.uri, vm, deadlineMs, 'resume');
    // recorded before the pause, not inside it: an agent that dies during the suspend leaves the
    // record for its successor, and the guest is not held while it is written
    await writeHold(this.holdDir, 'pause', {
      vm,
      heldAt: Date.now(),
      deadlineAt,
      watchdogPid: watchdog.pid,
    }).catch((err: unknown) => this.emit('resume-error', { vm, err }));
    // the hold starts here, not before the watchdog's spawn (whose deadline counts from `started`)
    const pausedAt = Date.now();
    const t0 = performance.now();
    try {
      // not bounded by the deadline: the watchdog resumes at the deadline whatever this call does,
      // and a cut that outlives it is refused by the server (HOLD_EXPIRED)
      await this.virsh.run(['suspend', '--domain', vm], { vm, timeoutMs: 30_000, urgent: true });
    } catch (err) {
      await this.virsh.run(['resume', '--domain', vm], { vm }).catch(() => undefined);
      watchdog.cancel();
      await removeHold(this.holdDir, 'pause', vm);
      throw err;
    }
    const pauseMs = performance.now() - t0;
    const timer = setTimeout(
      () => {
        this.resume(vm, 'deadline').catch((err: unknown) => this.emit('resume-error', { vm, err }));
      },
      Math.max(0, deadlineAt - Date.now()),
    );
    this.paused.set(vm, { pausedAt, deadlineAt, timer, watchdog });
    return {
      pausedAt: new Date(pausedAt).toISOString(),
      deadlineAt: new Date(deadlineAt).toISOString(),
      pauseMs,
    };
  }

  async resume(vm: string, reason: 'requested' | 'deadline' = 'requested'): Promise<ResumeResult> {
    const entry = this.paused.get(vm);
    if (entry) clearTimeout(entry.timer);
    const t0 = performance.now();
    try {
      await this.virsh.run(['resume', '--domain', vm], { vm, timeoutMs: 30_000, urgent: true });
    } catch (err) {
      // "not paused", or a VM found running after any failure (the deadline watchdog resumed it
      // at the same instant), means there is nothing left to undo: the pause is over.
      const over =
        (isStrataError(err, 'LIBVIRT_FAILED') && /not paused/i.test(err.message)) ||
        (await domState(this.virsh, vm).catch(() => 'unknown')) === 'running';
      if (!over) {
        if (isStrataError(err, 'VM_NOT_FOUND') || isStrataError(err, 'VM_NOT_RUNNING')) await this.drop(vm);
        throw err;
      }
    }
    const resumeMs = performance.now() - t0;
    entry?.watchdog.cancel();
    this.paused.delete(vm);
    await removeHold(this.holdDir, 'pause', vm);
    const pausedForMs = entry ? Date.now() - entry.pausedAt : 0;
    this.emit('resumed', { vm, reason, pausedForMs });
    return { pausedForMs, resumeMs, reason };
  }

  status(): Array<{ vm: string; pausedAt: string; deadlineAt: string }> {
    return [...this.paused.entries()].map(([vm, p]) => ({
      vm,
      pausedAt: new Date(p.pausedAt).toISOString(),
      deadlineAt: new Date(p.deadlineAt).toISOString(),
    }));
  }

  /** Drops a VM that no longer runs (stopped or destroyed): nothing is left to resume. */
  forget(vm: string): void {
    void this.drop(vm);
  }

  private async drop(vm: string): Promise<void> {
    const entry = this.paused.get(vm);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.watchdog.cancel();
    this.paused.delete(vm);
    await removeHold(this.holdDir, 'pause', vm);
  }

  /**
   * Takes over the pauses an earlier agent process recorded (it crashed or was restarted before
   * their deadlines): they are reported again and resumed at their deadline by this process too,
   * besides their still-running watchdogs. Pauses already past their deadline are resumed now.
   */
  async adopt(): Promise<string[]> {
    const adopted: string[] = [];
    for (const hold of await readHolds(this.holdDir, 'pause')) {
      if (this.paused.has(hold.vm)) continue;
      const watchdog = adoptWatchdog(hold.watchdogPid);
      const timer = setTimeout(
        () => {
          this.resume(hold.vm, 'deadline').catch((err: unknown) =>
            this.emit('resume-error', { vm: hold.vm, err }),
          );
        },
        Math.max(0, hold.deadlineAt - Date.now()),
      );
      this.paused.set(hold.vm, { pausedAt: hold.heldAt, deadlineAt: hold.deadlineAt, timer, watchdog });
      adopted.push(hold.vm);
    }
    return adopted;
  }

  async resumeAll(): Promise<void> {
    await Promise.allSettled([...this.paused.keys()].map((vm) => this.resume(vm, 'requested')));
  }
}
