import { execFile, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
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

async function answering(): Promise<string | undefined> {
  try {
    const { stdout } = await run('virsh', ['-c', LIBVIRT_URI, 'version'], { timeout: 10_000 });
    return /libvirt ([\d.]+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
}

async function pidAlive(name: string): Promise<boolean> {
  try {
    await run('pidof', [name], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Starts a daemon that forks itself (`-d`); waits for the parent to return. */
async function startDaemon(binary: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(binary, ['-d'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} -d exited with ${code}`)),
    );
  });
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
    await startDaemon('virtlogd');
    started = true;
  }
  const already = await answering();
  if (already !== undefined) return { uri: LIBVIRT_URI, started, libvirtVersion: already };
  if (!(await pidAlive('libvirtd'))) {
    await startDaemon('libvirtd');
    started = true;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const version = await answering();
    if (version !== undefined) return { uri: LIBVIRT_URI, started, libvirtVersion: version };
    if (Date.now() > deadline) throw new Error('libvirtd did not answer within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}
