import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StrataError } from '@strata/core';
import { DEFAULT_URI } from '../virsh/virsh.js';
import { parseEventLine, type LibvirtEvent } from './parse-event.js';

const SETPRIV = '/usr/bin/setpriv';

export interface EventStreamOptions {
  readonly uri?: string;
  /** How long after spawning virsh registers its callbacks; events before that may be missed. */
  readonly settleMs?: number;
}

interface Waiter {
  readonly match: (e: LibvirtEvent) => boolean;
  readonly resolve: (e: LibvirtEvent | undefined) => void;
}

/**
 * The agent's ONE long-lived libvirt event stream: `virsh event --all --loop --timestamp`,
 * parsed into typed events. Nothing polls: block-job completion, lifecycle changes and guest
 * agent connections all arrive here. When virsh exits (libvirtd restarted) the stream respawns
 * with back-off and emits `restarted`, so a waiter can re-check state it may have missed.
 *
 * Emits: `event` (LibvirtEvent), `restarted`, `error` (never thrown: logged by the owner).
 */
export class EventStream extends EventEmitter {
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly waiters = new Set<Waiter>();
  private readonly uri: string;
  private readonly settleMs: number;
  private backoffMs = 250;
  private startedOnce = false;
  /** When the current virsh has had its settle time: events after this instant are all seen. */
  private liveFrom = Number.POSITIVE_INFINITY;

  constructor(options: EventStreamOptions = {}) {
    super();
    this.uri = options.uri ?? DEFAULT_URI;
    this.settleMs = options.settleMs ?? 400;
  }

  /** Starts the stream; resolves once virsh has had time to register its callbacks. */
  async start(): Promise<void> {
    this.stopped = false;
    this.spawnOnce();
    await new Promise((r) => setTimeout(r, this.settleMs));
    if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
      throw new StrataError('LIBVIRT_UNAVAILABLE', { reason: 'virsh event exited at once' });
    }
  }

  private spawnOnce(): void {
    const virsh = ['virsh', '-c', this.uri, 'event', '--all', '--loop', '--timestamp'];
    // An agent killed outright must not leave its stream behind: a silent host's `virsh event`
    // writes nothing, so it would never notice the broken pipe. setpriv (util-linux) has the
    // kernel end it with its parent.
    const [cmd, ...args] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', ...virsh] : virsh;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.liveFrom = Date.now() + this.settleMs;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const event = parseEventLine(line);
      if (event) this.dispatch(event);
    });
    child.on('error', (err) => this.emit('stream-error', err));
    child.on('exit', () => {
      this.liveFrom = Number.POSITIVE_INFINITY;
      lines.close();
      if (this.stopped) return;
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
      setTimeout(() => {
        if (this.stopped) return;
        this.spawnOnce();
        this.emit('restarted');
      }, wait).unref();
    });
    if (this.startedOnce) this.backoffMs = 250;
    this.startedOnce = true;
  }

  private dispatch(event: LibvirtEvent): void {
    for (const w of this.waiters) {
      if (w.match(event)) {
        this.waiters.delete(w);
        w.resolve(event);
      }
    }
    this.emit('event', event);
  }

  /**
   * Resolves with the first event that matches, or undefined after `timeoutMs`. Register BEFORE
   * starting the operation whose event you wait for.
   */
  waitFor(
    match: (e: LibvirtEvent) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<LibvirtEvent | undefined> {
    return new Promise((resolve) => {
      const done = (e: LibvirtEvent | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        resolve(e);
      };
      const waiter: Waiter = { match, resolve: done };
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /**
   * True while every event libvirt sends reaches this stream: virsh runs and has registered its
   * callbacks. State cached on the strength of events is trusted only then.
   */
  get live(): boolean {
    return !this.stopped && this.child?.exitCode === null && Date.now() >= this.liveFrom;
  }

  /** Pid of the virsh process (for resource accounting). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill('SIGTERM');
    for (const w of [...this.waiters]) w.resolve(undefined);
    this.waiters.clear();
  }
}
