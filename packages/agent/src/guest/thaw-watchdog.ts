import { spawn } from 'node:child_process';

/**
 * The detached thaw watchdog: a tiny `sh` in its own session and process group (setsid via
 * `detached`), so it outlives the agent. It sleeps until the deadline, then thaws, retrying for
 * a while if libvirt is briefly unavailable. Names reach it as positional parameters ("$3"),
 * never spliced into the script.
 */
const SCRIPT = [
  'sleep "$1"',
  'i=0',
  'while [ "$i" -lt 40 ]; do',
  '  virsh -q -c "$2" domfsthaw --domain "$3" >/dev/null 2>&1 && exit 0',
  '  i=$((i+1)); sleep 0.25',
  'done',
  'exit 1',
].join('\n');

export interface Watchdog {
  readonly pid: number;
  /** Kills the watchdog's whole process group (the thaw came in time). */
  cancel(): void;
}

export function startThawWatchdog(uri: string, vm: string, afterMs: number): Watchdog {
  const seconds = Math.max(0, afterMs / 1000).toFixed(3);
  const child = spawn('sh', ['-c', SCRIPT, 'strata-thaw-watchdog', seconds, uri, vm], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the thaw watchdog');
  return {
    pid,
    cancel: () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone: it fired, or was cancelled before
      }
    },
  };
}
