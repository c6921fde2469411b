import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir } from 'node:fs/promises';
import { withDirLock } from './lock.js';
import { succeeds } from './run.js';
import { TEST_ROOT } from './reflink-pool.js';
import { sweepStaleTargets } from './stale-targets.js';

export interface Tgtd {
  /** host:port of the iSCSI portal. */
  readonly portal: string;
}

/** Once per test process: earlier test files' leftovers go before this one adds its own. */
let swept: Promise<number> | null = null;

const alive = (): Promise<boolean> => succeeds('tgtadm', ['--lld', 'iscsi', '--op', 'show', '--mode', 'sys']);

/**
 * Starts tgtd directly (no systemd) unless one already answers, and leaves it running for the
 * next test file: it holds no state a test depends on beyond the targets each test makes. Targets
 * whose files are gone are deleted (sweepStaleTargets). Safe to call from parallel processes.
 */
export async function ensureTgtd(): Promise<Tgtd> {
  const tgtd = await startTgtd();
  swept ??= sweepStaleTargets();
  await swept;
  return tgtd;
}

async function startTgtd(): Promise<Tgtd> {
  const portal = '127.0.0.1:3260';
  if (await alive()) return { portal };
  await mkdir(TEST_ROOT, { recursive: true });
  return withDirLock(join(TEST_ROOT, '.tgtd.lock'), async () => {
    if (await alive()) return { portal };
    await mkdir('/var/run/tgtd', { recursive: true });
    // -f keeps it in the foreground so we own the process; detached so it outlives this test file.
    // Four I/O threads per LUN, not sixteen: a run makes hundreds of LUNs, and tgtd's threads count
    // against pid_max (32768 here), which 2,000 LUNs at sixteen each exhausted.
    const child = spawn('tgtd', ['-f', '--nr_iothreads', '4', '--iscsi', 'portal=0.0.0.0:3260'], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    for (let i = 0; i < 100; i++) {
      if (await alive()) return { portal };
      await sleep(100);
    }
    throw new Error('tgtd did not answer within 10 s');
  });
}
