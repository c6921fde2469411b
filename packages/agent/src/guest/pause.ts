import { EventEmitter } from 'node:events';
import { isStrataError, StrataError } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';
import { domState } from '../vm/domain-state.js';
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
 * The `pause` quiesce mode (vCPUs stopped for a crash-consistent cut) with the same guarantee as
 * a freeze: a detached watchdog resumes the VM at the deadline even if this process dies, and
 * this process resumes it on its own timer too. Emits `resumed` ({ vm, reason, pausedForMs }).
 */
export class PauseManager extends EventEmitter {
  private readonly paused = new Map<string, Paused>();

  constructor(private readonly virsh: Virsh) {
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
        if (isStrataError(err, 'VM_NOT_FOUND') || isStrataError(err, 'VM_NOT_RUNNING')) this.forget(vm);
        throw err;
      }
    }
    const resumeMs = performance.now() - t0;
    entry?.watchdog.cancel();
    this.paused.delete(vm);
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

  forget(vm: string): void {
    const entry = this.paused.get(vm);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.watchdog.cancel();
    this.paused.delete(vm);
  }

  async resumeAll(): Promise<void> {
    await Promise.allSettled([...this.paused.keys()].map((vm) => this.resume(vm, 'requested')));
  }
}
