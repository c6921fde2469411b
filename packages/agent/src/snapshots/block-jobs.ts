import { EventEmitter } from 'node:events';
import { StrataError } from '@strata/core';
import type { EventStream } from '../events/event-stream.js';
import type { BlockJobStatus, BlockJobType, LibvirtEvent } from '../events/parse-event.js';
import type { Virsh } from '../virsh/virsh.js';

export interface BlockJobResult {
  readonly target: string;
  /** From start to the job's end (commit: including the pivot). */
  readonly tookMs: number;
  /** Active commit: from start to the `ready` event (the mirror caught up). */
  readonly readyMs?: number;
  /** Active commit: the pivot call itself. */
  readonly pivotMs?: number;
}

/** A phase of a running block job, as the event stream reported it. */
export interface BlockJobProgress {
  readonly vm: string;
  readonly target: string;
  readonly jobType: BlockJobType;
  readonly phase: 'started' | BlockJobStatus;
  readonly atMs: number;
}

function jobEvent(
  vm: string,
  target: string,
  types: readonly BlockJobType[],
  statuses: readonly BlockJobStatus[],
) {
  return (e: LibvirtEvent): boolean =>
    e.kind === 'block-job' &&
    e.byTarget &&
    e.vm === vm &&
    e.disk === target &&
    types.includes(e.jobType) &&
    statuses.includes(e.status);
}

const ENDS: readonly BlockJobStatus[] = ['completed', 'failed', 'canceled'];

/**
 * Parses `virsh blockjob --info`: undefined when no job runs (quiet virsh prints nothing then),
 * else the percentage done.
 */
export function parseJobInfo(text: string): number | undefined {
  if (text.trim() === '' || /No current block job/i.test(text)) return undefined;
  const m = /\[\s*(\d+(?:\.\d+)?)\s*%\s*\]/.exec(text);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

/**
 * Block commit and block stream, driven by the event stream (no `--wait` polling). Emits
 * `progress` (BlockJobProgress) at each phase, for the agent to forward to the server.
 */
export class BlockJobs extends EventEmitter {
  private readonly running = new Map<
    string,
    { vm: string; target: string; jobType: BlockJobType; startedAt: number }
  >();

  /** Per domain, the end of its last queued block job; per disk, a job asked for and not ended. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly claimed = new Set<string>();

  constructor(
    private readonly virsh: Virsh,
    private readonly events: EventStream,
  ) {
    super();
  }

  /**
   * Runs a domain's block jobs one after the other. QEMU 7.2 (Debian 12) can crash (a NULL
   * backing in bdrv_refresh_filename) when two block jobs of one domain end close together:
   * reproduced with two parallel streams, never with the same streams in sequence. A second job on
   * the same disk is refused at once (CONFLICT), as before.
   */
  private oneAtATime<T>(vm: string, target: string, work: () => Promise<T>): Promise<T> {
    const key = `${vm}\u0000${target}`;
    if (this.claimed.has(key))
      return Promise.reject(new StrataError('CONFLICT', { reason: `a block job runs on ${vm} ${target}` }));
    this.claimed.add(key);
    const done = (this.tails.get(vm) ?? Promise.resolve()).then(work).finally(() => this.claimed.delete(key));
    const tail = done.catch(() => undefined);
    this.tails.set(vm, tail);
    void tail.then(() => {
      if (this.tails.get(vm) === tail) this.tails.delete(vm);
    });
    return done;
  }

  /**
   * Waits for the job's event. If the event stream restarts meanwhile (libvirtd restarted) the
   * event may be lost: then one look at `blockjob --info` decides (a pull that no longer runs
   * completed; an active commit at 100 % is ready); a job still running is waited for again. A
   * domain that stops meanwhile ends the wait as `failed`.
   */
  private async settle(
    vm: string,
    target: string,
    jobType: BlockJobType,
    statuses: readonly BlockJobStatus[],
    timeoutMs: number,
  ): Promise<BlockJobStatus | undefined> {
    const controller = new AbortController();
    const waiting = this.events
      .waitFor(jobEvent(vm, target, [jobType], statuses), timeoutMs, controller.signal)
      .then((e) => (e?.kind === 'block-job' ? e.status : undefined));
    let onRestart: (() => void) | undefined;
    const restarted = new Promise<'restarted'>((resolve) => {
      onRestart = () => resolve('restarted');
      this.events.once('restarted', onRestart);
    });
    // A domain that stops (QEMU crashed, destroyed) never reports its job's end: fail at once.
    const stopped = this.events
      .waitFor(
        (e) => e.kind === 'lifecycle' && e.vm === vm && e.event === 'Stopped',
        timeoutMs,
        controller.signal,
      )
      .then((e) => (e ? ('failed' as const) : undefined));
    try {
      const first = await Promise.race([waiting, restarted, stopped]);
      if (first !== 'restarted') return first;
      const info = parseJobInfo(
        await this.virsh.run(['blockjob', '--domain', vm, '--path', target, '--info'], { vm, target }),
      );
      if (info === undefined) return jobType === 'pull' ? 'completed' : 'failed';
      if ((jobType === 'active-commit' || jobType === 'copy') && info >= 100) return 'ready';
      return await waiting;
    } finally {
      controller.abort();
      if (onRestart) this.events.off('restarted', onRestart);
    }
  }

  private phase(
    vm: string,
    target: string,
    jobType: BlockJobType,
    phase: BlockJobProgress['phase'],
    t0: number,
  ): void {
    this.emit('progress', {
      vm,
      target,
      jobType,
      phase,
      atMs: performance.now() - t0,
    } satisfies BlockJobProgress);
  }

  /** Jobs this agent started that have not ended. */
  list(): Array<{ vm: string; target: string; jobType: BlockJobType; startedAt: string }> {
    return [...this.running.values()].map((j) => ({ ...j, startedAt: new Date(j.startedAt).toISOString() }));
  }

  /**
   * Active commit of the disk's top overlay into its immediate backing image (`--shallow`), then
   * pivot: the disk runs on the backing image again, with a network source's initiator and auth
   * kept by libvirt.
   */
  activeCommit(vm: string, target: string, timeoutMs = 600_000): Promise<BlockJobResult> {
    return this.oneAtATime(vm, target, () => this.commitNow(vm, target, timeoutMs));
  }

  private async commitNow(vm: string, target: string, timeoutMs: number): Promise<BlockJobResult> {
    const key = `${vm}\u0000${target}`;
    if (this.running.has(key))
      throw new StrataError('CONFLICT', { reason: `a block job runs on ${vm} ${target}` });
    const t0 = performance.now();
    this.running.set(key, { vm, target, jobType: 'active-commit', startedAt: Date.now() });
    try {
      const settled = this.settle(vm, target, 'active-commit', ['ready', ...ENDS], timeoutMs);
      await this.virsh.run(['blockcommit', '--domain', vm, '--path', target, '--active', '--shallow'], {
        vm,
        target,
      });
      this.phase(vm, target, 'active-commit', 'started', t0);
      const status = await settled;
      const readyMs = performance.now() - t0;
      if (status === undefined)
        throw new StrataError('TIMEOUT', { what: `block commit of ${vm} ${target}`, ms: timeoutMs });
      if (status !== 'ready')
        throw new StrataError('BLOCK_JOB_FAILED', { job: 'active-commit', vm, target, status });
      this.phase(vm, target, 'active-commit', 'ready', t0);
      const p0 = performance.now();
      // without --async libvirt returns once the pivot is done
      await this.virsh.run(['blockjob', '--domain', vm, '--path', target, '--pivot'], {
        vm,
        target,
        timeoutMs: 120_000,
      });
      const pivotMs = performance.now() - p0;
      this.phase(vm, target, 'active-commit', 'completed', t0);
      return { target, tookMs: performance.now() - t0, readyMs, pivotMs };
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * Block copy of the disk into a destination prepared beforehand (`--reuse-external`, described
   * by the disk XML at `destXmlPath`), then the pivot once the mirror is ready: the guest runs on
   * the destination, writing throughout.
   */
  copy(vm: string, target: string, destXmlPath: string, timeoutMs = 1_800_000): Promise<BlockJobResult> {
    return this.oneAtATime(vm, target, () => this.copyNow(vm, target, destXmlPath, timeoutMs));
  }

  private async copyNow(
    vm: string,
    target: string,
    destXmlPath: string,
    timeoutMs: number,
  ): Promise<BlockJobResult> {
    const key = `${vm}\u0000${target}`;
    const t0 = performance.now();
    this.running.set(key, { vm, target, jobType: 'copy', startedAt: Date.now() });
    try {
      const settled = this.settle(vm, target, 'copy', ['ready', ...ENDS], timeoutMs);
      await this.virsh.run(
        [
          'blockcopy',
          '--domain',
          vm,
          '--path',
          target,
          '--xml',
          destXmlPath,
          '--reuse-external',
          '--transient-job',
        ],
        { vm, target },
      );
      this.phase(vm, target, 'copy', 'started', t0);
      const status = await settled;
      const readyMs = performance.now() - t0;
      if (status === undefined)
        throw new StrataError('TIMEOUT', { what: `block copy of ${vm} ${target}`, ms: timeoutMs });
      if (status !== 'ready') throw new StrataError('BLOCK_JOB_FAILED', { job: 'copy', vm, target, status });
      this.phase(vm, target, 'copy', 'ready', t0);
      const p0 = performance.now();
      // the guest's I/O waits on the switch: urgent, like every call made while a guest is held
      await this.virsh.run(['blockjob', '--domain', vm, '--path', target, '--pivot'], {
        vm,
        target,
        timeoutMs: 120_000,
        urgent: true,
      });
      const pivotMs = performance.now() - p0;
      this.phase(vm, target, 'copy', 'completed', t0);
      return { target, tookMs: performance.now() - t0, readyMs, pivotMs };
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * Block stream (pull): copies the backing data into the top image, which then stands alone; with
   * `base`, only the layers above `base` are copied and the top image then backs onto `base` (the
   * skipped layers stay untouched, for whatever else builds on them).
   */
  stream(vm: string, target: string, timeoutMs = 600_000, base?: string): Promise<BlockJobResult> {
    return this.oneAtATime(vm, target, () => this.streamNow(vm, target, timeoutMs, base));
  }

  private async streamNow(
    vm: string,
    target: string,
    timeoutMs: number,
    base?: string,
  ): Promise<BlockJobResult> {
    const key = `${vm}\u0000${target}`;
    if (this.running.has(key))
      throw new StrataError('CONFLICT', { reason: `a block job runs on ${vm} ${target}` });
    const t0 = performance.now();
    this.running.set(key, { vm, target, jobType: 'pull', startedAt: Date.now() });
    try {
      const settled = this.settle(vm, target, 'pull', ENDS, timeoutMs);
      const baseArgs = base ? ['--base', base] : [];
      await this.virsh.run(['blockpull', '--domain', vm, '--path', target, ...baseArgs], { vm, target });
      this.phase(vm, target, 'pull', 'started', t0);
      const status = await settled;
      if (status === undefined)
        throw new StrataError('TIMEOUT', { what: `block stream of ${vm} ${target}`, ms: timeoutMs });
      if (status !== 'completed')
        throw new StrataError('BLOCK_JOB_FAILED', { job: 'pull', vm, target, status });
      this.phase(vm, target, 'pull', 'completed', t0);
      return { target, tookMs: performance.now() - t0 };
    } finally {
      this.running.delete(key);
    }
  }
}
