import { execFile } from 'node:child_process';
import { StrataError, type StorageContext } from '@strata/core';

/**
 * Runs a backend command with an argument array (never a shell), under the caller's signal.
 * A failure becomes STORAGE_BACKEND_FAILED carrying the command's stderr (never its arguments);
 * an abort becomes STORAGE_CANCELLED.
 */
export function exec(
  ctx: StorageContext,
  cmd: string,
  args: readonly string[],
  operation: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { signal: ctx.signal, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if (ctx.signal.aborted) return reject(new StrataError('STORAGE_CANCELLED', { what: operation }));
        // Never the command line (error.message, error.cmd): it may hold a CHAP password.
        const exit = error.code ?? error.signal ?? 'unknown';
        reject(
          new StrataError('STORAGE_BACKEND_FAILED', {
            backend: cmd,
            operation,
            reason: (stderr.trim() || `exited with ${String(exit)}`).slice(0, 500),
          }),
        );
      },
    );
  });
}
