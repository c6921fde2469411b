import { execFile, spawn } from 'node:child_process';
import { mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withDirLock } from '../tgt/lock.js';
import { TEST_ROOT } from '../tgt/reflink-pool.js';

const run = promisify(execFile);

/** The one libvirt URI Strata drives: the system daemon. */
export const LIBVIRT_URI = 'qemu:///system';

export interface LibvirtInfo {
  readonly uri: string;
  /** True when this call started the daemons (false when they were already answering). */
  readonly started: boolean;
  readonly libvirtVersion: string;
}

/** The libvirt version of the daemon at `uri`, or undefined when it does not answer. */
export async function libvirtAnswers(uri: string = LIBVIRT_URI): Promise<string | undefined> {
  try {
    const { stdout } = await run('virsh', ['-c', uri, 'version'], { timeout: 10_000 });
    return /libvirt ([\d.]+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
}

/**
 * True when a process of that name runs in this mount namespace: a test KVM host's daemons
 * (packages/testing/src/hosts) run in their own and are not the machine's.
 */
async function pidAlive(name: string): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await run('pidof', [name], { timeout: 5_000 })).stdout.trim().split(/\s+/);
  } catch {
    return false;
  }
  const own = await readlink('/proc/self/ns/mnt');
  for (const pid of pids) {
    if ((await readlink(`/proc/${pid}/ns/mnt`).catch(() => '')) === own) return true;
  }
  return false;
}

/**
 * Starts a daemon that forks itself (`-d`); waits for the parent to return. `command` is the
 * program and its arguments (a test host's: `nsenter … -- libvirtd -d -p …`).
 */
export async function startForkingDaemon(command: readonly string[]): Promise<void> {
  const [program, ...args] = command;
  if (program === undefined) throw new Error('no daemon to start');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(program, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command.join(' ')} exited with ${code}`)),
    );
  });
}

/** Waits until the daemon at `uri` answers; its version. */
export async function waitForLibvirt(uri: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const version = await libvirtAnswers(uri);
    if (version !== undefined) return version;
    if (Date.now() > deadline) throw new Error(`libvirtd at ${uri} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let pending: Promise<LibvirtInfo> | undefined;

/**
 * Makes libvirtd and virtlogd run (no systemd here: they are started directly). Idempotent and
 * safe to call from every test: when `virsh version` already answers, nothing is started.
 * virtlogd is needed too: without it starting a domain fails on /run/libvirt/virtlogd-sock.
 * Test files in parallel processes take a cross-process lock: two daemons must not both start.
 */
export function ensureLibvirt(): Promise<LibvirtInfo> {
  pending ??= lockedEnsure().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function lockedEnsure(): Promise<LibvirtInfo> {
  await mkdir(TEST_ROOT, { recursive: true });
  return withDirLock(join(TEST_ROOT, '.libvirt.lock'), doEnsure);
}

async function doEnsure(): Promise<LibvirtInfo> {
  let started = false;
  if (!(await pidAlive('virtlogd'))) {
    await startForkingDaemon(['virtlogd', '-d']);
    started = true;
  }
  const already = await libvirtAnswers();
  if (already !== undefined) return { uri: LIBVIRT_URI, started, libvirtVersion: already };
  if (!(await pidAlive('libvirtd'))) {
    await startForkingDaemon(['libvirtd', '-d']);
    started = true;
  }
  return { uri: LIBVIRT_URI, started, libvirtVersion: await waitForLibvirt(LIBVIRT_URI) };
}
