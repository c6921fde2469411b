import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageContext } from '@strata/core';
import type { TgtDriver } from './driver.js';

/**
 * Keeps tgtd holding every volume's target between driver calls. tgtd keeps its targets only in
 * memory: after it is killed and started again it holds none, and a guest's iSCSI session finds
 * "Target not found" until something re-makes them. Each tick compares tgtd's listing with the
 * pool directory and re-makes (under the driver's lock) what is missing; while tgtd is down the
 * tick fails and the next one tries again.
 */
export class TargetWatch {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<readonly string[]> | null = null;

  constructor(
    private readonly d: TgtDriver,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.#timer || this.intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.check().catch(() => undefined), this.intervalMs);
    // The watch alone never keeps a process alive.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One check now; resolves to the ids of the volumes whose target was re-made. One at a time. */
  check(): Promise<readonly string[]> {
    this.#running ??= this.#check().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #check(): Promise<readonly string[]> {
    // A pool the driver never made (no directory yet) has nothing to restore.
    if (!(await stat(join(this.d.config.root, 'volumes')).catch(() => null))) return [];
    const ctx: StorageContext = { signal: AbortSignal.timeout(Math.max(30_000, this.intervalMs * 10)) };
    return this.d.restoreTargets(ctx);
  }
}
