import { randomUUID } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostLibvirtdConf, hostQemuConf, initiatorFile, migrationPortMin } from './host-config.js';

/** Where a host's libvirt looks for each of its directories, and what of the machine's it starts from. */
interface Bound {
  /** The path every process of the host uses (and the machine's own, hidden there). */
  readonly target: string;
  /** Its directory under the host's root. */
  readonly sub: string;
  /** The mode of both (the agent's own directories are private). */
  readonly mode: number;
}

/** The default host state directory: the path the server names (STRATA_HOST_STATE_DIR). */
export const DEFAULT_HOST_STATE_DIR = '/var/lib/strata/state';

/**
 * What a test host has of its own, bound over the machine's paths in its mount namespace: libvirt's
 * five directories (sockets, domains, config, logs, capability cache), the initiator name, the
 * agent's freeze records (/run/strata-agent: two agents would adopt each other's), its
 * credentials, and the host state directory (transient overlays and memory states).
 */
export function boundDirs(hostStateDir: string): readonly Bound[] {
  return [
    { target: '/run/libvirt', sub: 'run', mode: 0o755 },
    { target: '/var/lib/libvirt', sub: 'lib', mode: 0o755 },
    { target: '/etc/libvirt', sub: 'etc', mode: 0o755 },
    { target: '/var/log/libvirt', sub: 'log', mode: 0o755 },
    { target: '/var/cache/libvirt', sub: 'cache', mode: 0o755 },
    { target: '/etc/iscsi', sub: 'iscsi', mode: 0o755 },
    { target: '/run/strata-agent', sub: 'agent-run', mode: 0o700 },
    { target: '/var/lib/strata-agent', sub: 'agent', mode: 0o700 },
    { target: hostStateDir, sub: 'state', mode: 0o755 },
  ];
}

/**
 * Copies a directory tree keeping mode and owner (libvirt's qemu directories belong to its QEMU
 * user). `files` false copies directories only; `skip` leaves out a path (relative) and below.
 */
async function copyTree(
  src: string,
  dst: string,
  opts: { files: boolean; skip: (rel: string) => boolean },
  rel = '',
): Promise<void> {
  const st = await stat(src).catch(() => null);
  if (!st?.isDirectory()) {
    await mkdir(dst, { recursive: true, mode: 0o755 });
    return;
  }
  await mkdir(dst, { recursive: true });
  await chmod(dst, st.mode & 0o7777);
  await chown(dst, st.uid, st.gid);
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (opts.skip(r)) continue;
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    if (entry.isDirectory()) await copyTree(from, to, opts, r);
    else if (entry.isFile() && opts.files) {
      const f = await stat(from);
      await copyFile(from, to);
      await chmod(to, f.mode & 0o7777);
      await chown(to, f.uid, f.gid);
    }
  }
}

export interface HostDirs {
  readonly hostUuid: string;
}

/**
 * Makes a host's directories under `dir` from the machine's: /etc/libvirt's config files with an
 * EMPTY qemu/ (no domains, no networks: a copied default network would fight the machine's
 * bridge) and secrets/, its own host_uuid and incoming migration ports; the directory skeletons of /var/lib, /var/cache (with
 * the QEMU capability cache, which saves a probe at start) and /var/log; its initiator name.
 */
export async function makeHostDirs(
  dir: string,
  o: { name: string; initiatorName: string; hostStateDir: string },
): Promise<HostDirs> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  const insideEtc = (rel: string) => /^(qemu|secrets)\/./.test(rel);
  await copyTree('/etc/libvirt', join(dir, 'etc'), { files: true, skip: insideEtc });
  // the machine's domains' own directories (private, memory, snapshots, saves…) are not ours
  const domainDirs = (rel: string) =>
    /^qemu\/(domain-|(ram|snapshot|checkpoint|save|nvram|dump|channel\/target)\/.)/.test(rel);
  await copyTree('/var/lib/libvirt', join(dir, 'lib'), { files: false, skip: domainDirs });
  await copyTree('/var/cache/libvirt', join(dir, 'cache'), { files: true, skip: () => false });
  await copyTree('/var/log/libvirt', join(dir, 'log'), { files: false, skip: () => false });
  const hostUuid = randomUUID();
  const confPath = join(dir, 'etc', 'libvirtd.conf');
  const machineConf = await readFile('/etc/libvirt/libvirtd.conf', 'utf8').catch(() => '');
  await writeFile(confPath, hostLibvirtdConf(machineConf, hostUuid), { mode: 0o644 });
  const qemuConf = await readFile('/etc/libvirt/qemu.conf', 'utf8').catch(() => '');
  await writeFile(join(dir, 'etc', 'qemu.conf'), hostQemuConf(qemuConf, migrationPortMin()), { mode: 0o600 });
  await copyTree('/etc/iscsi', join(dir, 'iscsi'), { files: true, skip: (r) => r === 'initiatorname.iscsi' });
  await writeFile(join(dir, 'iscsi', 'initiatorname.iscsi'), initiatorFile(o.name, o.initiatorName), {
    mode: 0o644,
  });
  for (const b of boundDirs(o.hostStateDir)) {
    await mkdir(join(dir, b.sub), { recursive: true, mode: b.mode });
    // the mount point on the machine: an empty directory where libvirt or the agent would make it
    await mkdir(b.target, { recursive: true, mode: b.mode });
  }
  return { hostUuid };
}
