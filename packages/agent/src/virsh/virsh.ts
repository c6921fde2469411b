import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
import { StrataError } from '@strata/core';
import { libvirtError, type VirshCallContext } from './libvirt-errors.js';

export const DEFAULT_URI = 'qemu:///system';

export interface VirshOptions {
  readonly uri?: string;
  /** Per-call timeout unless the call gives its own. */
  readonly timeoutMs?: number;
  /** Called after every call, for latency accounting and debugging. */
  readonly onCall?: (args: readonly string[], ms: number, ok: boolean) => void;
}

export interface VirshCall {
  readonly timeoutMs?: number;
  readonly vm?: string;
  readonly target?: string;
  /** Keep virsh's informational output (e.g. "Froze 1 filesystem(s)"), which -q drops. */
  readonly verbose?: boolean;
  /**
   * A call made while a guest is held (frozen or paused): run at a higher CPU priority, so a host
   * busy with guests does not stretch the hold by delaying virsh itself (twice as fast at load 6).
   */
  readonly urgent?: boolean;
}

/** The nice value of urgent calls; needs CAP_SYS_NICE (the agent runs as root), else ignored. */
const URGENT_NICE = -10;

/**
 * Runs virsh as a subprocess with an argument array: never a shell, so names with quotes, `$`,
 * `;` or backticks reach libvirt untouched. Every call is bounded by a timeout (SIGKILL).
 */
export class Virsh {
  readonly uri: string;
  private readonly timeoutMs: number;
  private readonly onCall: VirshOptions['onCall'];

  constructor(options: VirshOptions = {}) {
    this.uri = options.uri ?? DEFAULT_URI;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.onCall = options.onCall;
  }

  /** Runs `virsh -c <uri> <args...>` and returns its stdout; failures are coded StrataErrors. */
  run(args: readonly string[], call: VirshCall = {}): Promise<string> {
    const timeout = call.timeoutMs ?? this.timeoutMs;
    const ctx: VirshCallContext = { command: args[0] ?? '', vm: call.vm, target: call.target };
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = execFile(
        'virsh',
        [...(call.verbose === true ? [] : ['-q']), '-c', this.uri, ...args],
        { timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const ms = performance.now() - started;
          this.onCall?.(args, ms, err === null);
          if (err === null) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
          if (e.killed === true || e.signal === 'SIGKILL') {
            return reject(
              new StrataError('LIBVIRT_TIMEOUT', { command: ctx.command, ms: timeout }, { cause: err }),
            );
          }
          if (e.code === 'ENOENT') {
            return reject(
              new StrataError('LIBVIRT_UNAVAILABLE', { reason: 'virsh is not installed' }, { cause: err }),
            );
          }
          reject(libvirtError(stderr || e.message, ctx, err));
        },
      );
      if (call.urgent === true && child.pid !== undefined) {
        try {
          setPriority(child.pid, URGENT_NICE);
        } catch {
          // not permitted here (not root): the call runs at normal priority
        }
      }
    });
  }
}
