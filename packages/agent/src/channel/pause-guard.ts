import { EventEmitter } from 'node:events';
import { StrataError } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';

interface Paused {
  readonly pausedAt: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * `vm.pause` / `vm.resume` for the `pause` quiesce mode: vCPUs stopped for the cut, with a deadline
 * after which this agent resumes the VM on its own, so a lost `vm.resume` (server gone, channel
 * cut) never leaves a guest paused for long. Emits `resumed` ({ vm, reason, pausedForMs }).
 * The deadline lives in this process: an agent that dies while holding a pause leaves the VM
 * paused; its next state report shows it `paused` and the server resumes it on reconcile.
 */
export class PauseGuard extends EventEmitter {
  private readonly paused = new Map<string, Paused>();

  constructor(private readonly virsh: Virsh) {
    super();
  }

  async pause(vm: string, deadlineMs: number): Promise<{ pausedAt: string; deadlineAt: string }> {
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0 || deadlineMs > 600_000) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'deadlineMs',
        reason: 'must be a whole number of ms in 1..600000',
      });
    }
    const held = this.paused.get(vm);
    if (held) clearTimeout(held.timer);
    else await this.virsh.run(['suspend', '--domain', vm], { vm });
    const pausedAt = held?.pausedAt ?? Date.now();
    const deadlineAt = Date.now() + deadlineMs;
    const timer = setTimeout(() => void this.resume(vm, 'deadline').catch(() => undefined), deadlineMs);
    this.paused.set(vm, { pausedAt, timer });
    return { pausedAt: new Date(pausedAt).toISOString(), deadlineAt: new Date(deadlineAt).toISOString() };
  }

  /** Resumes; a VM this agent did not pause (or already resumed) is resumed if libvirt has it paused. */
  async resume(vm: string, reason: 'requested' | 'deadline' = 'requested'): Promise<{ pausedForMs: number }> {
    const held = this.paused.get(vm);
    if (held) clearTimeout(held.timer);
    this.paused.delete(vm);
    const state = (await this.virsh.run(['domstate', '--domain', vm], { vm })).trim();
    if (state === 'paused') await this.virsh.run(['resume', '--domain', vm], { vm });
    const pausedForMs = held ? Date.now() - held.pausedAt : 0;
    if (held) this.emit('resumed', { vm, reason, pausedForMs });
    return { pausedForMs };
  }

  /** Resumes every VM this agent holds paused (agent shutdown). */
  async resumeAll(): Promise<void> {
    await Promise.allSettled([...this.paused.keys()].map((vm) => this.resume(vm)));
  }
}
