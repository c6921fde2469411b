// The two ways bench/vmsnapshot takes a VM snapshot of the same running VM: Strata through its
// REST API, and plain virsh. Each can take one, name the data disk's active layer after it, undo it.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const sleep = (ms) => delay(ms);
export const virsh = (...args) => run('virsh', ['-q', '-c', 'qemu:///system', ...args], { timeout: 600_000 });

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Images in a file's backing chain, the file itself included. */
export async function chainDepth(path) {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return JSON.parse(stdout).length;
}

const activeOf = async (rest, volumeId) => (await rest.get(`/v1/volumes/${volumeId}`)).backendRef;

/**
 * Runs a REST operation again when it failed with UNAVAILABLE (the host agent was reconnecting:
 * on a loaded shared machine its heartbeats can lapse), at most twice; counts the retries.
 */
export async function retrying(counter, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 3 || !/UNAVAILABLE/.test(String(e))) throw e;
      counter.retries++;
      await sleep(5_000);
    }
  }
}

/** Strata: POST /v1/vm-snapshots with quiesce=guest; e2e is the request to the job's end. */
export class StrataSnapshots {
  kind = 'strata';
  #n = 0;
  constructor(rest) {
    this.rest = rest;
  }
  /** Requests that failed because the agent was reconnecting, and were retried. */
  retries = 0;
  take(v) {
    return retrying(this, async () => {
      const t0 = performance.now();
      const { resource } = await this.rest.run('/v1/vm-snapshots', {
        vmId: v.vm.id,
        name: `bench ${++this.#n}`,
        quiesce: 'guest',
      });
      return { id: resource.id, e2eMs: performance.now() - t0 };
    });
  }
  dataActive(v) {
    return activeOf(this.rest, v.disks[1].volume.id);
  }
  async activePaths(v) {
    return Promise.all(v.disks.map((d) => activeOf(this.rest, d.volume.id)));
  }
  async undo(_v, ref) {
    await retrying(this, () => this.rest.runDelete(`/v1/vm-snapshots/${ref.id}`));
  }
}

/**
 * Native: `virsh snapshot-create-as --disk-only --atomic --quiesce --no-metadata` over both disks,
 * onto overlays named apart from Strata's; undone with `blockcommit --active --pivot`.
 */
export class Native {
  kind = 'native';
  #n = 0;
  constructor(dir, rest) {
    this.dir = dir;
    this.rest = rest;
  }
  overlays(v, n) {
    return v.disks.map((d) => join(this.dir, `native-${v.vm.id}-${n}-${d.volume.deviceName}.qcow2`));
  }
  async take(v) {
    const n = ++this.#n;
    const files = this.overlays(v, n);
    const specs = v.disks.flatMap((d, i) => ['--diskspec', `${d.volume.deviceName},file=${files[i]}`]);
    const t0 = performance.now();
    await virsh(
      'snapshot-create-as',
      '--domain',
      v.vm.id,
      '--disk-only',
      '--atomic',
      '--quiesce',
      '--no-metadata',
      ...specs,
    );
    return { n, files, e2eMs: performance.now() - t0 };
  }
  dataActive(_v, ref) {
    return ref.files[1];
  }
  async activePaths(v) {
    return Promise.all(v.disks.map((d) => activeOf(this.rest, d.volume.id)));
  }
  async undo(v, ref) {
    for (const d of v.disks)
      await virsh(
        'blockcommit',
        '--domain',
        v.vm.id,
        '--path',
        d.volume.deviceName,
        '--active',
        '--shallow',
        '--pivot',
      );
    for (const f of ref.files) await rm(f, { force: true });
  }
  /** Commits a whole native chain back down into the disks' own active layers (`bases`). */
  async undoChain(v, refs, bases) {
    for (const [i, d] of v.disks.entries())
      await virsh(
        'blockcommit',
        '--domain',
        v.vm.id,
        '--path',
        d.volume.deviceName,
        '--active',
        '--pivot',
        '--base',
        bases[i],
      );
    for (const ref of refs) for (const f of ref.files) await rm(f, { force: true });
  }
}
