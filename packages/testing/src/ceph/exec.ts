import { execFile, spawn } from 'node:child_process';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment without CEPH_CONF/CEPH_ARGS: every call names its conf and keyring explicitly. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['CEPH_CONF'];
  delete env['CEPH_ARGS'];
  delete env['CEPH_KEYRING'];
  return env;
}

/** Runs a command with an argument array (never a shell) and a deadline. */
export function run(command: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: cleanEnv(), killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim() || error.message;
          reject(new Error(`${command} ${args.join(' ')} failed: ${detail}`, { cause: error }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * Starts a Ceph daemon, which forks into the background. Its stdio is not piped, so the call
 * returns when the launcher process exits, not when the daemon does.
 */
export function startDaemon(command: string, args: readonly string[], timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: 'ignore', env: cleanEnv() });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not daemonize within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}; see its log file`));
    });
  });
}
