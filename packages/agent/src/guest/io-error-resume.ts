import { EventEmitter } from 'node:events';
import type { Virsh } from '../virsh/virsh.js';

/** `virsh domstate --reason` of a guest QEMU stopped on a failed disk request (error_policy='stop'). */
export const IO_ERROR_STATE = /^paused \(I\/O error\)$/;

export interface IoErrorResumeOptions {
  /** How often paused guests are looked for. Default 3000 ms. */
  readonly intervalMs?: number;
  /** Longest wait between two resume attempts of one guest (back-off doubles up to it). Default 30 s. */
  readonly maxBackoffMs?: number;
}

/**
 * Resumes guests that QEMU paused on an I/O error once their storage answers again. Disks use
 * error_policy='stop' (disk-xml.ts): a write that fails (tgtd gone, an OSD down) pauses the guest
 * instead of reaching it as EIO. Resuming makes QEMU retry the failed requests: if the storage is
 * back they complete and the guest runs on; if not, QEMU pauses it again at once with the same
 * reason, and the next attempt comes after a longer wait. So the retry itself is the reachability
 * probe, and no guest write is lost or failed meanwhile. A guest paused for any other reason (a
 * snapshot hold, an operator) is never touched. Polling, not only events, so a guest paused while
 * the agent was down is found too.
 *
 * Emits `resumed` ({ vm, attempts, pausedForMs }) and `error` ({ vm, err }).
 */
export class IoErrorResumer extends EventEmitter {
  readonly #intervalMs: number;
  readonly #maxBackoffMs: number;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> | null = null;
  /** Guests seen paused on I/O error: when first seen, attempts so far, next attempt not before. */
  readonly #paused = new Map<string, { since: number; attempts: number; notBefore: number }>();

  constructor(
    private readonly virsh: Virsh,
    options: IoErrorResumeOptions = {},
  ) {
    super();
    this.#intervalMs = options.intervalMs ?? 3000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sweep(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass now (one at a time): each guest paused on I/O error whose wait is over is resumed. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep()
      .catch((err: unknown) => void this.emit('error', { vm: null, err }))
      .finally(() => {
        this.#sweeping = null;
      });
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const names = (await this.virsh.run(['list', '--state-paused', '--name']))
      .split('\n')
      .map((n) => n.trim())
      .filter(Boolean);
    const now = Date.now();
    // Not paused any more: one this resumer resumed is reported even when the check right after
    // its resume still caught it paused (QEMU retrying the failed requests).
    for (const [vm, seen] of [...this.#paused]) {
      if (names.includes(vm)) continue;
      if (seen.attempts === 0) {
        this.#paused.delete(vm);
        continue;
      }
      // resumed by an attempt of ours: reported once seen running; kept while its state is unclear
      const state = await this.#state(vm);
      if (state.startsWith('running')) this.#report(vm, seen);
      if (state === '' || !state.startsWith('paused')) this.#paused.delete(vm);
    }
    for (const vm of names) {
      const state = await this.#state(vm);
      if (!IO_ERROR_STATE.test(state)) {
        // running again between the list and this read: after an attempt of ours, that is ours
        const before = this.#paused.get(vm);
        if (before && before.attempts > 0 && state.startsWith('running')) this.#report(vm, before);
        this.#paused.delete(vm);
        continue;
      }
      const seen = this.#paused.get(vm) ?? { since: now, attempts: 0, notBefore: now };
      this.#paused.set(vm, seen);
      if (now < seen.notBefore) continue;
      seen.attempts++;
      seen.notBefore = now + Math.min(this.#maxBackoffMs, this.#intervalMs * 2 ** (seen.attempts - 1));
      try {
        await this.virsh.run(['resume', '--domain', vm], { vm, timeoutMs: 30_000 });
      } catch (err) {
        this.emit('error', { vm, err });
      }
    }
    // A guest resumed above that stayed running is done; one paused again waits for its next turn.
    for (const [vm, seen] of [...this.#paused]) {
      if (seen.attempts === 0) continue;
      if (await this.#reportIfRunning(vm, seen)) this.#paused.delete(vm);
    }
  }

  async #reportIfRunning(vm: string, seen: { since: number; attempts: number }): Promise<boolean> {
    if (!(await this.#state(vm)).startsWith('running')) return false;
    this.#report(vm, seen);
    return true;
  }

  /** `domstate --reason`'s first line; '' when libvirt cannot say (the domain gone, say). */
  async #state(vm: string): Promise<string> {
    const out = await this.virsh.run(['domstate', '--domain', vm, '--reason'], { vm }).catch(() => '');
    return (out.trim().split('\n')[0] ?? '').trim();
  }

  #report(vm: string, seen: { since: number; attempts: number }): void {
    this.emit('resumed', { vm, attempts: seen.attempts, pausedForMs: Date.now() - seen.since });
  }
}
