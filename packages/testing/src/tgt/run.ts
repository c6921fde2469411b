import { execFile } from 'node:child_process';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with an argument array (never a shell); rejects with stderr in the message. */
export function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const msg = `${cmd} ${args.join(' ')} failed: ${stderr.trim() || error.message}`;
        reject(Object.assign(new Error(msg), { stdout, stderr, cause: error }));
      } else resolve({ stdout, stderr });
    });
  });
}

/** True when the command exits 0. */
export async function succeeds(cmd: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(cmd, args, 30_000);
    return true;
  } catch {
    return false;
  }
}
