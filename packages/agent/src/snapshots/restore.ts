import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isStrataError, StrataError, type DomainRunState } from '@strata/core';
import { withPrivateDir } from '../host/secrets.js';
import type { AgentDiskSpec } from '../types.js';
import type { Virsh } from '../virsh/virsh.js';
import { domState } from '../vm/domain-state.js';
import { withDestinationSources } from '../vm/migrate.js';
import { pointFileDisks, type RestoreFile } from './restore-xml.js';

export interface RestoreResult {
  readonly state: DomainRunState;
  readonly tookMs: number;
}

/**
 * Brings a stopped VM back running from the memory state saved with a snapshot, with no reboot:
 * the saved domain XML, its file disks pointed at their new active layers and its network disks
 * (`disks`) at their sources as this host opens them (the state may come from another host, by
 * the snapshot store), becomes the VM's definition (the saved UUID with it, which the restore
 * demands), then `virsh restore` resumes the guest where the snapshot left it. The caller has
 * reverted the disks first.
 */
export async function restoreFromMemory(
  virsh: Virsh,
  vm: string,
  memoryPath: string,
  files: readonly RestoreFile[],
  disks: readonly AgentDiskSpec[] = [],
): Promise<RestoreResult> {
  const t0 = performance.now();
  let state: DomainRunState | 'absent' = 'absent';
  try {
    state = await domState(virsh, vm);
  } catch (err) {
    if (!isStrataError(err, 'VM_NOT_FOUND')) throw err;
  }
  if (state !== 'absent' && state !== 'shut off') {
    throw new StrataError('VM_STATE_INVALID', {
      vm,
      state,
      operation: 'a restore from memory',
      expected: 'shut off',
    });
  }
  const saved = await virsh.run(['save-image-dumpxml', '--file', memoryPath, '--security-info'], {
    vm,
    timeoutMs: 60_000,
  });
  const xml = withDestinationSources(pointFileDisks(saved, files), disks);
  await withPrivateDir(async (dir) => {
    const path = join(dir, 'domain.xml');
    await writeFile(path, xml, { mode: 0o600 });
    if (state !== 'absent') await virsh.run(['undefine', '--domain', vm], { vm });
    await virsh.run(['define', '--file', path], { vm });
    await virsh.run(['restore', '--file', memoryPath, '--xml', path, '--running'], {
      vm,
      timeoutMs: 300_000,
    });
  });
  return { state: await domState(virsh, vm), tookMs: performance.now() - t0 };
}
