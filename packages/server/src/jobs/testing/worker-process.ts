import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly serverId: string;
  /** Output so far (markers and failure messages). */
  readonly output: () => string;
  readonly kill: (signal: NodeJS.Signals) => Promise<void>;
}

/** Starts a worker process (a management server's job engine) and resolves once it runs. */
export async function startWorker(
  url: string,
  serverId: string,
  concurrency = 4,
  leaseMs = 1500,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [MAIN, url, serverId, String(concurrency), String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (out.includes(`ready ${serverId}`)) {
        clearInterval(check);
        resolve();
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(check);
      reject(new Error(`worker ${serverId} exited with ${code}: ${out}`));
    });
  });
  return {
    child,
    serverId,
    output: () => out,
    kill: (signal) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
