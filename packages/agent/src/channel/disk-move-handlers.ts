import { convertDisk } from '../disks/copy-offline.js';
import { copyDisk } from '../disks/copy.js';
import { fileRoots } from '../files/roots.js';
import type { HostAgent } from '../host-agent.js';
import type { CommandHandlers } from './dispatcher.js';

/**
 * Moving a disk between volumes: `disk.copy` (a running guest's, libvirt block copy and pivot)
 * and `disk.convert` (a stopped one's, `qemu-img convert`; file sources only under the directories
 * this agent serves).
 */
export function diskMoveHandlers(kvm: HostAgent, served: readonly string[]): CommandHandlers {
  const roots = fileRoots(served);
  return {
    'disk.copy': ({ vm, disk }, ctx) =>
      kvm.changingDisks(vm, () => copyDisk(kvm.virsh, kvm.blockJobs, vm, disk, ctx.timeoutMs)),
    'disk.convert': ({ from, to }, ctx) => convertDisk(kvm.virsh, roots, from, to, ctx.signal, ctx.timeoutMs),
  };
}
