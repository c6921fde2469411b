import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentCommand } from '@strata/testing';
import type { Backends } from './backends.js';

const run = promisify(execFile);

/** Where the host keeps transient overlays and memory files (the server's default state dir). */
const HOST_STATE_DIR = '/var/lib/strata/state';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map((e) => join(dir, e));
}

/**
 * Everything on the host and the backends a VM snapshot could have left: files naming it in the
 * qcow2 pool, the tgt pool and the host state dir, and the snapshots of the VM's RBD images.
 * Taken before and after a failed cut, the two must be equal.
 */
export async function residue(
  b: Backends,
  snapshotId: string,
  rbdSpecs: readonly string[],
): Promise<{ files: string[]; rbdSnaps: string[] }> {
  const files = (await Promise.all([b.qcow2Dir, b.tgtDir, HOST_STATE_DIR].map((d) => filesUnder(d))))
    .flat()
    .filter((f) => f.includes(snapshotId))
    .sort();
  const rbdSnaps: string[] = [];
  for (const spec of rbdSpecs) {
    if (!b.ceph) break;
    const { stdout } = await run(
      'rbd',
      [
        '--conf',
        b.ceph.confPath,
        '--keyring',
        b.ceph.adminKeyringPath,
        '--id',
        'admin',
        'snap',
        'ls',
        '--all',
        '--format',
        'json',
        spec,
      ],
      { timeout: 60_000 },
    );
    for (const s of JSON.parse(stdout || '[]') as Array<{ name: string }>) rbdSnaps.push(`${spec}@${s.name}`);
  }
  return { files, rbdSnaps: rbdSnaps.sort() };
}

/** The sources of a domain's disks as libvirt runs them now, by target. */
export async function diskSources(domain: string): Promise<string[]> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'domblklist', '--details', domain], {
    timeout: 30_000,
  });
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[1] === 'disk')
    .map((c) => `${c[2]} ${c.slice(3).join(' ')}`);
}

/** The guest's run state and filesystem freeze state: a held guest shows paused or frozen. */
export async function guestHeld(domain: string): Promise<{ state: string; fsfreeze: string }> {
  const { stdout } = await run('virsh', ['-c', 'qemu:///system', 'domstate', domain], { timeout: 30_000 });
  const fsfreeze = String(await agentCommand(domain, { execute: 'guest-fsfreeze-status' }));
  return { state: stdout.trim(), fsfreeze };
}
