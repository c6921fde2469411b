import { spawn } from 'node:child_process';

/**
 * The detached deadline watchdog: a tiny `sh` in its own session and process group (setsid via
 * `detached`), so it outlives the agent. It sleeps until the deadline, then undoes the hold
 * (thaws the filesystems, or resumes a paused VM), retrying for ten seconds if libvirt is
 * briefly unavailable. A VM found running at the deadline is watched for those ten seconds too:
 * its suspend may still be on its way (a slow libvirt), and would otherwise land after the
 * watchdog left. (The agent cancels the watchdog as soon as it releases the hold itself.) Names
 * reach it as positional parameters ("$3"), never spliced into the script.
 */
const SCRIPT = [
  'sleep "$1"',
  'i=0',
  'while [ "$i" -lt 40 ]; do',
  '  if [ "$4" = resume ]; then',
  '    s=$(virsh -q -c "$2" domstate --domain "$3" 2>/dev/null) || s=unknown',
  '    if [ "$s" = paused ] || [ "$s" = unknown ]; then',
  '      virsh -q -c "$2" resume --domain "$3" >/dev/null 2>&1 && exit 0',
  '    fi',
  '  else',
  '    virsh -q -c "$2" "$4" --domain "$3" >/dev/null 2>&1 && exit 0',
  '  fi',
  '  i=$((i+1)); sleep 0.25',
  'done',
  'exit 1',
].join('\n');

/** What the watchdog runs at the deadline. */
export type WatchdogAction = 'domfsthaw' | 'resume';

export interface Watchdog {
  readonly pid: number;
  /** Kills the watchdog's whole process group (the thaw came in time). */
  cancel(): void;
}

export function startThawWatchdog(
  uri: string,
  vm: string,
  afterMs: number,
  action: WatchdogAction = 'domfsthaw',
): Watchdog {
  const seconds = Math.max(0, afterMs / 1000).toFixed(3);
  const child = spawn('sh', ['-c', SCRIPT, 'strata-deadline-watchdog', seconds, uri, vm, action], {
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
