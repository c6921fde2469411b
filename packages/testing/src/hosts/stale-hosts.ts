import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../ceph/lock.js';
import { withDirLock } from '../tgt/lock.js';
import { TEST_ROOT } from '../tgt/reflink-pool.js';
import { endHostProcesses } from './namespace.js';

/** Where test KVM hosts keep their directories: `<name>.<pid of the process that started it>`. */
export const HOSTS_ROOT = join(TEST_ROOT, 'hosts');

export const hostDirName = (name: string, ownerPid = process.pid): string => `${name}.${ownerPid}`;

/** The pid a host directory names as its owner, or undefined for a name not of this form. */
export function ownerOf(dirName: string): number | undefined {
  const m = /^[a-z][a-z0-9-]*\.(\d+)$/.exec(dirName);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Ends a host's processes and removes its directory (its mounts end with its last process). */
export async function removeHost(dir: string): Promise<void> {
  await endHostProcesses(join(dir, 'run'));
  await rm(dir, { recursive: true, force: true });
}

/** The lock every test process takes to make or remove a host directory. */
export const withHostsLock = <T>(fn: () => Promise<T>): Promise<T> =>
  withDirLock(join(HOSTS_ROOT, '.lock'), fn);

/**
 * Removes the hosts whose owner died without stopping them (a test process killed outright):
 * their daemons still run in their namespace and their directories stay. Every host start does it.
 */
export const reapStaleHosts = async (): Promise<string[]> => {
  await mkdir(HOSTS_ROOT, { recursive: true, mode: 0o755 });
  return withHostsLock(reapStaleHostsLocked);
};

/** reapStaleHosts for a caller that holds the hosts lock. */
export async function reapStaleHostsLocked(): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of await readdir(HOSTS_ROOT).catch(() => [])) {
    const owner = ownerOf(name);
    const dir = join(HOSTS_ROOT, name);
    if (owner === undefined || (await ownerLives(dir, owner))) continue;
    await removeHost(dir);
    reaped.push(name);
  }
  return reaped;
}

/** Records the owner's start time beside its pid, so a reused pid is not taken for it. */
export async function writeOwner(dir: string): Promise<void> {
  await writeFile(join(dir, 'owner'), await startTimeOf(process.pid));
}

export async function startTimeOf(pid: number): Promise<string> {
  // field 22 of /proc/PID/stat, after the parenthesised command (which may hold spaces)
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/** True when the host's owner is the process that made it (alive, same start time). */
export async function ownerLives(dir: string, pid: number): Promise<boolean> {
  if (!processAlive(pid)) return false;
  const recorded = await readFile(join(dir, 'owner'), 'utf8').catch(() => '');
  return recorded !== '' && recorded === (await startTimeOf(pid));
}
