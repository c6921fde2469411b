import type { IopsPoint } from '@strata/core';
import type { DiskCounters } from './domstats.js';

/**
 * A short ring of one disk's IOPS: each sample's counters minus the previous one's, over the time
 * between them. A counter that goes down (QEMU restarted, a new disk under the same target) or a
 * new source path starts the window afresh: a difference across it would be meaningless.
 */
export class DiskWindow {
  private readonly ring: IopsPoint[] = [];
  private last: { at: number; c: DiskCounters } | null = null;

  constructor(private readonly capacity: number) {}

  add(at: number, c: DiskCounters): void {
    const prev = this.last;
    this.last = { at, c };
    if (!prev) return;
    const dt = (at - prev.at) / 1000;
    if (c.path !== prev.c.path || c.rdReqs < prev.c.rdReqs || c.wrReqs < prev.c.wrReqs || dt <= 0) {
      this.reset();
      this.last = { at, c };
      return;
    }
    const readIops = (c.rdReqs - prev.c.rdReqs) / dt;
    const writeIops = (c.wrReqs - prev.c.wrReqs) / dt;
    const round = (n: number) => Math.round(n * 10) / 10;
    this.ring.push({
      at,
      readIops: round(readIops),
      writeIops: round(writeIops),
      iops: round(readIops + writeIops),
    });
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }

  reset(): void {
    this.ring.length = 0;
    this.last = null;
  }

  /** Oldest first, a copy. */
  points(): IopsPoint[] {
    return [...this.ring];
  }

  /** When the disk was last sampled (ms), or null. */
  lastSampledAt(): number | null {
    return this.last?.at ?? null;
  }
}
