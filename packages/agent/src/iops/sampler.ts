import type { DiskIopsWindow } from '@strata/core';
import { parseDomStats } from './domstats.js';
import { DiskWindow } from './window.js';

export interface BlockSamplerOptions {
  /** Between samples while a domain runs (default 2 s). */
  readonly periodMs?: number;
  /** How much history each disk keeps (default 5 minutes). */
  readonly windowMs?: number;
  /** Between samples while no domain runs (default 15 s); a lifecycle event wakes it sooner. */
  readonly idlePeriodMs?: number;
  readonly now?: () => number;
}

/**
 * Samples every running domain's per-disk block counters (`virsh domstats --block
 * --list-running`, one call for the whole host) and keeps a short window per disk, which the
 * `disk.iops` command answers. Idle hosts cost one call per idle period; a domain that stops or
 * restarts loses its windows (QEMU's counters start again from zero).
 */
export class BlockSampler {
  readonly periodMs: number;
  readonly windowMs: number;
  private readonly idlePeriodMs: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, Map<string, DiskWindow>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private busy = false;
  private idle = false;
  private lastError: string | null = null;

  constructor(
    /** Answers `virsh -q domstats --block --list-running` output. */
    private readonly read: () => Promise<string>,
    options: BlockSamplerOptions = {},
  ) {
    this.periodMs = options.periodMs ?? 2000;
    this.windowMs = options.windowMs ?? 300_000;
    this.idlePeriodMs = options.idlePeriodMs ?? 15_000;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** A domain started, stopped or restarted: its counters start again, so its windows do too. */
  domainChanged(vm: string): void {
    this.windows.delete(vm);
    if (this.running && this.idle) this.schedule(0);
  }

  /** One sample of every running domain (the timer calls it; tests call it directly). */
  async sample(): Promise<void> {
    if (this.busy) return; // a wake-up during a slow call: the call in flight is the sample
    this.busy = true;
    let text: string;
    try {
      text = await this.read();
      this.lastError = null;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      return;
    } finally {
      this.busy = false;
    }
    const at = this.now();
    const stats = parseDomStats(text);
    for (const vm of [...this.windows.keys()]) if (!stats.has(vm)) this.windows.delete(vm);
    const capacity = Math.max(1, Math.ceil(this.windowMs / this.periodMs));
    for (const [vm, disks] of stats) {
      let byTarget = this.windows.get(vm);
      if (!byTarget) this.windows.set(vm, (byTarget = new Map<string, DiskWindow>()));
      const present = new Set(disks.map((d) => d.target));
      for (const t of [...byTarget.keys()]) if (!present.has(t)) byTarget.delete(t);
      for (const d of disks) {
        let w = byTarget.get(d.target);
        if (!w) byTarget.set(d.target, (w = new DiskWindow(capacity)));
        w.add(at, d);
      }
    }
    this.idle = stats.size === 0;
  }

  /** The window of one disk, with the reason when it has no points. */
  window(vm: string, target: string): DiskIopsWindow {
    const base = { periodMs: this.periodMs, windowMs: this.windowMs };
    const w = this.windows.get(vm)?.get(target);
    if (!w) {
      // asked about a domain not seen yet: sample soon rather than at the idle period
      if (this.running && this.idle) this.schedule(0);
      const reason =
        this.lastError !== null
          ? `libvirt did not answer the last sample: ${this.lastError}`
          : this.windows.has(vm)
            ? `the domain has no disk ${target}`
            : 'the domain is not running on this host (or was not sampled yet)';
      return { ...base, points: [], reason };
    }
    const points = w.points();
    return {
      ...base,
      points,
      reason: points.length > 0 ? null : 'sampling began: the first interval is not over yet',
    };
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.sample().finally(() => {
        if (this.running) this.schedule(this.idle ? this.idlePeriodMs : this.periodMs);
      });
    }, ms);
    this.timer.unref();
  }
}
