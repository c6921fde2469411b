import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startForkingDaemon, waitForLibvirt } from '../libvirt/ensure-libvirt.js';
import { run, type RunResult } from '../tgt/run.js';
import { checkHostName, testInitiatorName } from './host-config.js';
import { boundDirs, DEFAULT_HOST_STATE_DIR, makeHostDirs } from './host-dirs.js';
import { holdNamespace, type NamespaceHolder } from './namespace.js';
import {
  hostDirName,
  HOSTS_ROOT,
  reapStaleHostsLocked,
  removeHost,
  withHostsLock,
  writeOwner,
} from './stale-hosts.js';

export interface KvmHostOptions {
  /** Its hostname (the name it registers under) and part of its initiator name: [a-z][a-z0-9-]*. */
  readonly name: string;
  /** The host state directory, the path the server names (default /var/lib/strata/state). */
  readonly hostStateDir?: string;
}

/** A KVM host on this machine: its own libvirtd + virtlogd in its own mount and UTS namespaces. */
export interface KvmHost {
  readonly name: string;
  /** The process that holds its namespaces (nsenter -t pid). */
  readonly pid: number;
  /** Its libvirtd, reachable from outside the namespace. */
  readonly uri: string;
  /** Its directories on the machine (what is bound over the machine's paths inside). */
  readonly dir: string;
  /**
   * Its host state directory as the host sees it: the server's path, bound to its own directory
   * inside its namespace only (the machine's, and the server's view, stay apart).
   */
  readonly stateDir: string;
  /** The agent's own state directory inside (its credentials): the agent's default path. */
  readonly agentDir: string;
  readonly initiatorName: string;
  /** libvirtd's host_uuid: not the machine's, so a migration between hosts is allowed. */
  readonly hostUuid: string;
  /** `nsenter` arguments that run a program inside the host (it is exec'd). */
  readonly enter: readonly string[];
  /** Runs a command inside the host (argument array, never a shell). */
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Destroys its domains, ends its daemons (and every process inside), removes its directories. */
  stop(): Promise<void>;
}

const virshAt = (uri: string, args: readonly string[]) => run('virsh', ['-q', '-c', uri, ...args], 60_000);

/** Destroys and undefines every domain of the host's libvirtd (QEMU outlives a stopped libvirtd). */
async function destroyDomains(uri: string): Promise<void> {
  const listed = await virshAt(uri, ['list', '--all', '--name']).catch(() => null);
  for (const name of (listed?.stdout ?? '').split('\n').filter((n) => n.trim() !== '')) {
    await virshAt(uri, ['destroy', '--domain', name]).catch(() => undefined);
    await virshAt(uri, ['undefine', '--domain', name, '--managed-save']).catch(() => undefined);
  }
}

async function mountInside(ns: NamespaceHolder, dir: string, hostStateDir: string): Promise<void> {
  for (const b of boundDirs(hostStateDir)) await ns.exec('mount', ['--bind', join(dir, b.sub), b.target]);
}

/** The libvirt URI of the host whose directories are at `dir` (its socket, seen from outside). */
export const hostUri = (dir: string): string =>
  `qemu+unix:///system?socket=${join(dir, 'run', 'libvirt-sock')}`;

/** A host's handle, once its daemons run in the namespace `ns` holds. */
export function hostHandle(
  ns: Omit<NamespaceHolder, 'child'>,
  o: { name: string; dir: string; hostStateDir: string; initiatorName: string; hostUuid: string },
): KvmHost {
  const uri = hostUri(o.dir);
  let stopping: Promise<void> | undefined;
  return {
    name: o.name,
    pid: ns.pid,
    uri,
    dir: o.dir,
    stateDir: o.hostStateDir,
    agentDir: '/var/lib/strata-agent',
    initiatorName: o.initiatorName,
    hostUuid: o.hostUuid,
    enter: ns.enter,
    exec: (cmd, args, timeoutMs) => ns.exec(cmd, args, timeoutMs),
    stop: () => (stopping ??= destroyDomains(uri).then(() => removeHost(o.dir))),
  };
}

/** Mounts the host's directories in its namespace, names it, starts virtlogd and libvirtd there. */
export async function bootHost(ns: NamespaceHolder, name: string, dir: string, hostStateDir: string) {
  await mountInside(ns, dir, hostStateDir);
  await ns.exec('hostname', [name]);
  await startForkingDaemon([...ns.enter, 'virtlogd', '-d', '-p', '/run/libvirt/virtlogd.pid']);
  await startForkingDaemon([...ns.enter, 'libvirtd', '-d', '-p', '/run/libvirt/libvirtd.pid']);
  await waitForLibvirt(hostUri(dir), 60_000);
}

/**
 * Starts a KVM host on this machine (DESIGN.md §6, "Several KVM hosts on one machine"): a private
 * mount namespace (and UTS, for its hostname) with its own directories bound over libvirt's, the
 * iSCSI initiator name's, the agent's and the host state directory's; then virtlogd and libvirtd
 * inside, with pid files in its own /run/libvirt (the default ones in /run collide). Hosts left
 * by a test process that died are removed first, under a lock shared by every test process.
 */
export async function startKvmHost(options: KvmHostOptions): Promise<KvmHost> {
  const name = checkHostName(options.name);
  const hostStateDir = options.hostStateDir ?? DEFAULT_HOST_STATE_DIR;
  const dir = join(HOSTS_ROOT, hostDirName(name));
  const initiatorName = testInitiatorName(name);
  await mkdir(HOSTS_ROOT, { recursive: true, mode: 0o755 });
  const { hostUuid } = await withHostsLock(async () => {
    await reapStaleHostsLocked();
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    )
      throw new Error(`KVM host ${name} already runs in this process (${dir})`);
    const made = await makeHostDirs(dir, { name, initiatorName, hostStateDir });
    await writeOwner(dir);
    return made;
  });
  const stop = () => destroyDomains(hostUri(dir)).then(() => removeHost(dir));
  try {
    const ns = await holdNamespace();
    await bootHost(ns, name, dir, hostStateDir);
    return hostHandle(ns, { name, dir, hostStateDir, initiatorName, hostUuid });
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
