import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import { diskXml } from '../domain/disk-xml.js';
import type { EventStream } from '../events/event-stream.js';
import { withPrivateDir } from '../host/secrets.js';
import type { AgentDiskSpec } from '../types.js';
import type { Virsh } from '../virsh/virsh.js';
import { blockList } from '../vm/domain-state.js';

export interface AttachOptions {
  /** Apply to the running guest (hot attach). */
  readonly live: boolean;
  /** Also change the persistent definition (default true). */
  readonly persist?: boolean;
}

export interface DiskOpResult {
  readonly target: string;
  readonly tookMs: number;
}

function flags(o: AttachOptions): string[] {
  const out: string[] = [];
  if (o.live) out.push('--live');
  if (o.persist ?? true) out.push('--config');
  return out;
}

/** Attaches one disk (file, iSCSI through QEMU, RBD, or a host block device). */
export async function attachDisk(
  virsh: Virsh,
  vm: string,
  disk: AgentDiskSpec,
  options: AttachOptions,
): Promise<DiskOpResult> {
  const xml = diskXml(disk);
  const started = performance.now();
  await withPrivateDir(async (dir) => {
    const path = join(dir, 'disk.xml');
    await writeFile(path, xml, { mode: 0o600 });
    await virsh.run(['attach-device', '--domain', vm, '--file', path, ...flags(options)], {
      vm,
      target: disk.target,
      timeoutMs: 60_000,
    });
  });
  return { target: disk.target, tookMs: performance.now() - started };
}

/**
 * Detaches the disk at `target`. libvirt returns once QEMU asked the guest to release the device;
 * the removal itself is confirmed by the `device-removed` event (no polling), with one final
 * look at the live disk list if the event does not come in time.
 */
export async function detachDisk(
  virsh: Virsh,
  events: EventStream,
  vm: string,
  target: string,
  options: AttachOptions & { readonly timeoutMs?: number },
): Promise<DiskOpResult> {
  const started = performance.now();
  const live = options.live ? await blockList(virsh, vm) : [];
  if (options.live && !live.some((d) => d.target === target))
    throw new StrataError('DISK_NOT_ATTACHED', { vm, target });
  const removed = options.live
    ? events.waitFor(
        (e) => e.kind === 'other' && e.name === 'device-removed' && e.vm === vm,
        options.timeoutMs ?? 30_000,
      )
    : Promise.resolve(undefined);
  await virsh.run(['detach-disk', '--domain', vm, '--target', target, ...flags(options)], {
    vm,
    target,
    timeoutMs: 60_000,
  });
  if (options.live) {
    const stillThere = async (): Promise<boolean> =>
      (await blockList(virsh, vm)).some((d) => d.target === target);
    if (await stillThere()) {
      await removed;
      if (await stillThere()) {
        throw new StrataError('TIMEOUT', {
          what: `detach of ${target} from ${vm}`,
          ms: options.timeoutMs ?? 30_000,
        });
      }
    }
  }
  return { target, tookMs: performance.now() - started };
}
