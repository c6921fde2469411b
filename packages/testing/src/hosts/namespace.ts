import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../tgt/run.js';

/**
 * A process that holds a private mount namespace and its own UTS namespace (the agent registers
 * under its hostname, so each host needs its own). It dies with the process that made it
 * (pdeathsig); what was started inside lives on until stopped (see hostProcesses).
 */
export interface NamespaceHolder {
  readonly pid: number;
  readonly child: ChildProcess;
  /** `nsenter` arguments that run a program inside (it is exec'd: its pid is the program's). */
  readonly enter: readonly string[];
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
}

const UNSHARE = ['-m', '-u', '--propagation', 'private', '--', 'sleep', 'infinity'];

/**
 * `persistent`: the holder outlives this process, in a session of its own (the README's bring-up
 * leaves its hosts running); else it dies with this process.
 */
export async function holdNamespace(persistent = false): Promise<NamespaceHolder> {
  const child = persistent
    ? spawn('unshare', UNSHARE, { stdio: 'ignore', detached: true })
    : spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', ...UNSHARE], { stdio: 'ignore' });
  // A host someone forgot to stop must not keep the test process alive.
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the namespace holder (setpriv/unshare)');
  const own = await readlink('/proc/self/ns/mnt');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the namespace holder exited with ${child.exitCode}`);
    const ns = await readlink(`/proc/${pid}/ns/mnt`).catch(() => own);
    // unshare has exec'd sleep once its namespaces are made
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (ns !== own && comm.trim() === 'sleep') break;
    if (Date.now() > deadline) throw new Error('the namespace holder did not make its namespace in 10 s');
    await sleep(20);
  }
  return { ...enterNamespaceOf(pid), child };
}

/** How to run programs in the namespaces that process `pid` holds. */
export function enterNamespaceOf(pid: number): Omit<NamespaceHolder, 'child'> {
  const enter = ['nsenter', '-t', String(pid), '-m', '-u', '--'];
  return {
    pid,
    enter,
    exec: (cmd, args, timeoutMs) => run(enter[0] ?? 'nsenter', [...enter.slice(1), cmd, ...args], timeoutMs),
  };
}

/**
 * The processes of a test host: those whose mount table has `runDir` mounted on /run/libvirt.
 * Found from the mount tables, not from a pid: it works after the holder is gone (a test process
 * killed outright leaves the host's daemons running in their namespace).
 */
export async function hostProcesses(runDir: string): Promise<number[]> {
  const out: number[] = [];
  // the source of the mount ends with <host>/run (its path in its own filesystem)
  const tail = `/${basename(dirname(runDir))}/run`;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const table = await readFile(`/proc/${name}/mountinfo`, 'utf8').catch(() => '');
    // mountinfo: id parent major:minor root mount-point …; root is the source's path in its fs
    const hit = table.split('\n').some((line) => {
      const f = line.split(' ');
      return f[4] === '/run/libvirt' && f[3] !== undefined && f[3].endsWith(tail) && runDir.endsWith(f[3]);
    });
    if (hit) out.push(Number(name));
  }
  return out;
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
}

/** Ends every process of a host: SIGTERM, then SIGKILL what still runs after `graceMs`. */
export async function endHostProcesses(runDir: string, graceMs = 10_000): Promise<void> {
  signal(await hostProcesses(runDir), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = await hostProcesses(runDir);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = await hostProcesses(runDir);
  }
  for (let i = 0; left.length > 0; i++) {
    if (i === 100) throw new Error(`processes of ${runDir} survive SIGKILL: ${left.join(' ')}`);
    signal(left, 'SIGKILL');
    await sleep(100);
    left = await hostProcesses(runDir);
  }
}
