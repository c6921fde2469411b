import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A real agent process started by a test, with what it printed. Test support, not product code. */
export interface AgentProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** Starts `@strata/agent`'s `channel/<entry>.js` (main or fixture-agent) with the given environment. */
export function startAgentProcess(
  entry: 'main' | 'fixture-agent',
  env: Record<string, string>,
): AgentProcess {
  const script = fileURLToPath(import.meta.resolve(`@strata/agent/channel/${entry}`));
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: AgentProcess = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (d: Buffer) => (proc.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  return proc;
}

/** SIGTERM, then SIGKILL if it lingers; also resumes a stopped process so it can die. */
export async function stopAgentProcess(proc: AgentProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGCONT');
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}
