import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { succeeds } from './run.js';

/**
 * A tgtd of one test's own, on its own management port (`-C`) and iSCSI port, so the test can
 * kill and restart it without touching the machine's shared tgtd or anyone's targets.
 */
export interface OwnTgtd {
  readonly controlPort: number;
  /** host:port of its iSCSI portal. */
  readonly portal: string;
  readonly pid: () => number | undefined;
  /** SIGKILLs it and waits until it is gone (every target with it). */
  kill(): Promise<void>;
  /** Starts it again on the same ports (with no targets) and waits until it answers. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const alive = (controlPort: number): Promise<boolean> =>
  succeeds('tgtadm', ['-C', String(controlPort), '--lld', 'iscsi', '--op', 'show', '--mode', 'sys']);

/** Starts a tgtd on management port `controlPort` and iSCSI port 3260 + controlPort. */
export async function startOwnTgtd(controlPort: number): Promise<OwnTgtd> {
  if (!Number.isInteger(controlPort) || controlPort < 1 || controlPort > 2000)
    throw new Error(`control port must be 1..2000: ${controlPort}`);
  if (await alive(controlPort)) throw new Error(`a tgtd already answers on control port ${controlPort}`);
  const iscsiPort = 3260 + controlPort;
  let child: ChildProcess | null = null;
  const start = async () => {
    await mkdir('/var/run/tgtd', { recursive: true });
    child = spawn(
      'tgtd',
      ['-f', '-C', String(controlPort), '--nr_iothreads', '2', '--iscsi', `portal=127.0.0.1:${iscsiPort}`],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 300; i++) {
      if (await alive(controlPort)) return;
      await sleep(100);
    }
    throw new Error(`tgtd on control port ${controlPort} did not answer within 30 s`);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    controlPort,
    portal: `127.0.0.1:${iscsiPort}`,
    pid: () => child?.pid,
    kill,
    restart: start,
    close: kill,
  };
}
