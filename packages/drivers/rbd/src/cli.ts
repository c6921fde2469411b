import { execFile } from 'node:child_process';
import { StrataError, type StorageContext } from '@strata/core';

/** How the driver reaches the cluster: conf, keyring and cephx id, always passed explicitly. */
export interface CephAccess {
  readonly confPath: string;
  readonly keyringPath: string;
  /** cephx id without `client.`; the control plane's own user (never handed to hosts). */
  readonly clientId: string;
  /** Per-command deadline; default 60 s. */
  readonly timeoutMs?: number;
}

const ERRNO = /\((\d+)\)\s/;

/** The errno librados/librbd printed, `rbd: ... (2) No such file or directory` → 2. */
export function errnoOf(err: unknown): number | undefined {
  if (err instanceof StrataError && typeof err.params['errno'] === 'number') return err.params['errno'];
  return undefined;
}

/** The `ceph` tool says `Error ENOENT: ...` where rbd says `(2) ...`. */
const CEPH_ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
};

/**
 * The errno of a failed rbd/ceph call: from its summary line ("(17) ..." or "Error EINVAL: ..."),
 * else from its exit status, which both tools set to the errno.
 */
export function errnoFrom(summary: string, exitCode: unknown): number | undefined {
  const text = ERRNO.exec(summary)?.[1];
  if (text !== undefined) return Number(text);
  const named = CEPH_ERRNO[/Error (E[A-Z]+)/.exec(summary)?.[1] ?? ''];
  if (named !== undefined) return named;
  return typeof exitCode === 'number' && exitCode > 1 && exitCode < 256 ? exitCode : undefined;
}

export const ENOENT = 2;
export const EEXIST = 17;
export const EBUSY = 16;
export const ENOTEMPTY = 39;
export const EINVAL = 22;

/** Keeps the lines that say what went wrong; drops librados start-up chatter. */
export function summarize(stderr: string): string {
  const all = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // The tools' own verdicts first (`rbd: ...`, `Error ENOENT: ...`), then anything but log chatter.
  const pick = all.filter((l) => l.startsWith('rbd:') || /^Error E[A-Z]+/.test(l));
  const rest = all.filter((l) => !/^\d{4}-\d\d-\d\dT\S+ \S+ -1 |did not load config|complete\.\.\./.test(l));
  const text = (pick.length > 0 ? pick : rest.length > 0 ? rest : all).slice(-2).join(' | ');
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  // The admin key is named on each command line; nothing inherited may point elsewhere.
  delete e['CEPH_CONF'];
  delete e['CEPH_ARGS'];
  delete e['CEPH_KEYRING'];
  return e;
}

/**
 * The `rbd`, `ceph` and `rados` command-line tools as the driver calls them: argument arrays,
 * explicit conf/keyring/id, a deadline, the caller's abort signal, and failures as coded errors.
 */
export class CephCli {
  constructor(readonly access: CephAccess) {}

  #common(tool: 'rbd' | 'ceph' | 'rados'): string[] {
    const { confPath, keyringPath, clientId } = this.access;
    // A down monitor must fail fast rather than wait out librados' 300 s default.
    const connect = tool === 'ceph' ? ['--connect-timeout', '15'] : ['--client-mount-timeout', '15'];
    return ['--conf', confPath, '--keyring', keyringPath, '--id', clientId, ...connect];
  }

  run(
    ctx: StorageContext,
    tool: 'rbd' | 'ceph' | 'rados',
    args: readonly string[],
    operation: string,
    timeoutMs?: number,
  ): Promise<string> {
    return this.exec(ctx, tool, [...this.#common(tool), ...args], operation, timeoutMs);
  }

  /** Any command (qemu-img for templates), with the same deadline, abort and error mapping. */
  exec(
    ctx: StorageContext,
    tool: string,
    args: readonly string[],
    operation: string,
    timeout?: number,
  ): Promise<string> {
    const timeoutMs = timeout ?? this.access.timeoutMs ?? 60_000;
    if (ctx.signal.aborted) return Promise.reject(new StrataError('STORAGE_CANCELLED', { what: operation }));
    return new Promise((resolve, reject) => {
      execFile(
        tool,
        [...args],
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          signal: ctx.signal,
          env: env(),
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
          if (ctx.signal.aborted || e.name === 'AbortError') {
            return reject(new StrataError('STORAGE_CANCELLED', { what: operation }, { cause: error }));
          }
          if (e.code === 'ENOENT') {
            return reject(
              new StrataError(
                'UNAVAILABLE',
                { what: `${tool} command`, reason: 'not installed' },
                { cause: error },
              ),
            );
          }
          if (e.killed) {
            return reject(
              new StrataError('TIMEOUT', { what: `${tool} ${operation}`, ms: timeoutMs }, { cause: error }),
            );
          }
          const reason = summarize(stderr) || e.message;
          // The summary line carries the errno ("(17) ..." or "Error EINVAL: ..."); failing that,
          // rbd and ceph exit with it. Never the rest of stderr: its start-up chatter has errnos
          // of its own (a missing default keyring is "(2) No such file or directory").
          const errno = errnoFrom(reason, e.code) ?? NaN;
          if (errno === 110) {
            return reject(new StrataError('UNAVAILABLE', { what: 'Ceph cluster', reason }, { cause: error }));
          }
          reject(
            new StrataError(
              'STORAGE_BACKEND_FAILED',
              { backend: tool, operation, reason, errno: Number.isNaN(errno) ? undefined : errno },
              { cause: error },
            ),
          );
        },
      );
    });
  }

  rbd(ctx: StorageContext, args: readonly string[], operation = args.slice(0, 2).join(' ')): Promise<string> {
    return this.run(ctx, 'rbd', args, operation);
  }

  async rbdJson<T>(
    ctx: StorageContext,
    args: readonly string[],
    operation = args.slice(0, 2).join(' '),
  ): Promise<T> {
    const out = await this.rbd(ctx, [...args, '--format', 'json'], operation);
    return (out.trim() === '' ? null : JSON.parse(out)) as T;
  }

  async cephJson<T>(
    ctx: StorageContext,
    args: readonly string[],
    operation = args.slice(0, 2).join(' '),
  ): Promise<T> {
    const out = await this.run(ctx, 'ceph', [...args, '--format', 'json'], operation);
    return (out.trim() === '' ? null : JSON.parse(out)) as T;
  }
}

/** Runs `fn`, answering `fallback` when the backend says the object does not exist (ENOENT). */
export async function unlessMissing<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (errnoOf(err) === ENOENT) return fallback;
    throw err;
  }
}
