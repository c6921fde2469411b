import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Rest } from './rest.js';

const run = promisify(execFile);

/**
 * Ends a test's VM: a forced stop through Strata, then its libvirt definition removed. Every
 * definition left on the host costs each later agent report a lookup (and its files are gone with
 * the test's directory). Never throws: it runs in `finally`.
 */
export async function discardVm(rest: Rest | undefined, vmId: string | undefined): Promise<void> {
  if (!vmId) return;
  await rest?.run(`/v1/vms/${vmId}/stop`, { forced: true }).catch(() => undefined);
  // the domain is named by the VM id
  await run('virsh', ['-q', '-c', 'qemu:///system', 'destroy', vmId]).catch(() => undefined);
  await run('virsh', ['-q', '-c', 'qemu:///system', 'undefine', vmId]).catch(() => undefined);
}
