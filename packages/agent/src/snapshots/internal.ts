import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Virsh } from '../virsh/virsh.js';

const run = promisify(execFile);

export interface InternalSnapshotResult {
  readonly name: string;
  readonly op: 'create' | 'revert' | 'delete';
  readonly tookMs: number;
}

/**
 * Internal qcow2 snapshots through libvirt (memory and every disk inside the qcow2 files; all
 * disks must be qcow2). For strategies that want them; external snapshots are the default.
 */
export async function internalSnapshot(
  virsh: Virsh,
  vm: string,
  op: 'create' | 'revert' | 'delete',
  name: string,
): Promise<InternalSnapshotResult> {
  const t0 = performance.now();
  const args =
    op === 'create'
      ? ['snapshot-create-as', '--domain', vm, '--name', name, '--atomic']
      : op === 'revert'
        ? ['snapshot-revert', '--domain', vm, '--snapshotname', name, '--running']
        : ['snapshot-delete', '--domain', vm, '--snapshotname', name];
  await virsh.run(args, { vm, timeoutMs: 300_000 });
  return { name, op, tookMs: performance.now() - t0 };
}

/** Offline internal snapshot of one qcow2 file (VM stopped), through qemu-img. */
export async function offlineInternalSnapshot(
  path: string,
  op: 'create' | 'revert' | 'delete',
  name: string,
): Promise<InternalSnapshotResult> {
  const t0 = performance.now();
  const flag = op === 'create' ? '-c' : op === 'revert' ? '-a' : '-d';
  await run('qemu-img', ['snapshot', flag, name, path], { timeout: 300_000 });
  return { name, op, tookMs: performance.now() - t0 };
}
