import { setWriterInterval } from '@strata/testing';
import type { Named } from './cloud.js';
import { crashEnvironment, type CrashEnv } from './crash-env.js';
import { buildDemoVm, waitForGuestAgent, type DemoDisk } from './story.js';

/** What a crash test's body works with. */
export interface CrashVm {
  readonly cx: CrashEnv;
  /** The demo's VM (qcow2 ROOT and a disk on each backend), running on the first KVM host. */
  readonly vm: Named;
  readonly disks: readonly DemoDisk[];
  /** This run's pools: tgt, qcow2 and RBD when Ceph runs. */
  readonly pools: readonly string[];
  readonly log: (line: string) => void;
  /** Another VM the body made: stopped and undefined at the end. */
  readonly keep: (vmId: string) => void;
}

/**
 * A crash environment with the demo's VM running and writing slowly (no writer history is read:
 * a slow writer keeps the guest from holding a CPU), the body run on it, then everything closed;
 * after a failure the files are kept and the error carries the log and the server's last lines.
 */
export async function withCrashVm(body: (c: CrashVm) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  const log = (l: string) => void lines.push(l);
  let cx: CrashEnv | undefined;
  const vms: string[] = [];
  let failed = true;
  try {
    cx = await crashEnvironment(log);
    const env = cx;
    const { vm, disks } = await buildDemoVm(env.env.rest, env.backends, env.cloud, log, env.vmHost);
    vms.push(vm.id);
    await waitForGuestAgent(vm.id, 180_000, await env.uriOf(vm.id));
    await setWriterInterval(vm.id, 1, await env.uriOf(vm.id));
    const { tgt, qcow2, rbd } = env.cloud.pools;
    const pools = [tgt, qcow2, ...(rbd ? [rbd] : [])];
    await body({ cx: env, vm, disks, pools, log, keep: (id) => void vms.push(id) });
    failed = false;
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n--- log ---\n${lines.join('\n')}\n--- server ---\n${await cx?.tail()}\n(files kept in ${cx?.root})`,
      { cause: e },
    );
  } finally {
    await cx?.close(vms, failed);
  }
}
