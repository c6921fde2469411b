import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { waitUntil } from './processes.js';

const run = promisify(execFile);

/**
 * A private mount namespace held open by a `sleep` (test support): a process started through
 * `wrap` runs in it, and `mask` hides a directory from it behind an empty tmpfs while every other
 * process on the machine keeps seeing the directory's files. It ends with its last process.
 */
export interface MountNamespace {
  /** The command prefix that runs a program in the namespace (`nsenter -t PID -m --`). */
  readonly wrap: readonly string[];
  /** The holder process, for the caller's list of children to stop. */
  readonly holder: ChildProcess;
  /** Mounts an empty tmpfs over each directory, as seen from inside only. */
  mask(dirs: readonly string[]): Promise<void>;
  /** The names in a directory as a process in the namespace sees them. */
  ls(dir: string): Promise<string[]>;
  /** Runs a command in the namespace. */
  exec(...args: string[]): Promise<{ stdout: string; stderr: string }>;
}

export async function openMountNamespace(): Promise<MountNamespace> {
  const holder = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sleep', 'infinity'], {
    stdio: 'ignore',
  });
  const pid = holder.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  const own = await readlink('/proc/self/ns/mnt');
  await waitUntil('the private mount namespace', 10_000, async () =>
    (await readlink(`/proc/${pid}/ns/mnt`)) !== own ? true : undefined,
  );
  const wrap = ['nsenter', '-t', String(pid), '-m', '--'];
  const exec = (...args: string[]) => run(wrap[0]!, [...wrap.slice(1), ...args]);
  return {
    wrap,
    holder,
    exec,
    async mask(dirs) {
      for (const dir of dirs) await exec('mount', '-t', 'tmpfs', '-o', 'mode=0755', 'strata-empty', dir);
    },
    async ls(dir) {
      const { stdout } = await exec('ls', '-A', dir);
      return stdout.split('\n').filter((l) => l !== '');
    },
  };
}
