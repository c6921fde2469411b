import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_HOST_STATE_DIR, startKvmHost, type KvmHost } from '@strata/testing';
import type { Environment } from './demo.js';
import { startAgentProcess, waitUntil } from './processes.js';
import type { Page } from './rest.js';

export interface HostView {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly iscsiInitiator: string | null;
  readonly cpus: number;
  readonly memoryBytes: number;
}

export interface JoinedKvmHost {
  /** Its id in Strata. */
  readonly id: string;
  readonly name: string;
  /** Its libvirtd and namespace (uri, exec, state directory, initiator name). */
  readonly host: KvmHost;
  /** Its agent process, running inside the host. */
  readonly agent: ChildProcess;
  /** The end of its agent's log (for a failing test's diagnostics). */
  agentLog(): Promise<string>;
  /** Stops its agent, then the host (its domains, daemons and directories). */
  stop(): Promise<void>;
}

async function ended(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exit;
  clearTimeout(timer);
}

/**
 * Joins one more KVM host to a running environment, on this machine: a libvirtd of its own in its
 * own namespaces (startKvmHost) and a host agent inside it, registered with a one-time token of
 * the environment's cluster under the host's name, reporting `cpus` and `memoryBytes` when given
 * (smaller than the machine, so "no room" can be tested). It mounts the environment's qcow2 pool
 * directory and snapshot store (the same paths, as NFS would be); its host state directory is its own. Resolves when
 * the host is Up.
 */
export async function addKvmHost(
  env: Environment,
  opts: {
    readonly name: string;
    readonly cpus?: number;
    readonly memoryBytes?: number;
    /** The server's host state directory path (default /var/lib/strata/state). */
    readonly hostStateDir?: string;
    readonly track?: (child: ChildProcess) => void;
  },
): Promise<JoinedKvmHost> {
  const hostStateDir = opts.hostStateDir ?? DEFAULT_HOST_STATE_DIR;
  const host = await startKvmHost({ name: opts.name, hostStateDir });
  const logFile = join(host.dir, 'agent.log');
  const agentLog = async () => (await readFile(logFile, 'utf8').catch(() => '')).slice(-4000);
  let agent: ChildProcess | undefined;
  const stop = async () => {
    if (agent) await ended(agent, 10_000);
    await host.stop();
  };
  try {
    const issued = await env.rest.post<{ token: string; fingerprint: string }>(
      '/v1/hosts/registration-tokens',
      {
        clusterId: env.cloud.clusterId,
      },
    );
    const started = startAgentProcess({
      serverUrl: env.agentUrl,
      fingerprint: issued.fingerprint,
      token: issued.token,
      stateDir: host.agentDir,
      detached: false,
      // a KVM host only, which mounts the qcow2 pool (as NFS would be): the storage node is the
      // environment's first agent
      roles: 'kvm',
      hostStateDir,
      poolDirs: [env.backends.qcow2Dir],
      // memory states go to the store every host sees, as an NFS share would be mounted
      snapshotStore: env.backends.snapshotStore,
      wrap: host.enter,
      logFile,
      env: {
        // other hosts reach its libvirt through its socket; QEMU's data goes over loopback
        STRATA_AGENT_MIGRATION_URI: host.uri,
        STRATA_AGENT_MIGRATION_DATA_URI: 'tcp://127.0.0.1',
        ...(opts.cpus !== undefined && { STRATA_AGENT_CPUS: String(opts.cpus) }),
        ...(opts.memoryBytes !== undefined && { STRATA_AGENT_MEMORY_BYTES: String(opts.memoryBytes) }),
      },
    });
    agent = started;
    opts.track?.(started);
    const up = await waitUntil(`host ${opts.name} to be Up`, 120_000, async () => {
      if (started.exitCode !== null) throw new Error(`its agent exited with ${started.exitCode}`);
      const found = await env.rest.get<Page<HostView>>('/v1/hosts', { name: opts.name });
      return found.items.find((h) => h.state === 'Up');
    }).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- agent log ---\n${await agentLog()}`, { cause: e });
    });
    return { id: up.id, name: opts.name, host, agent: started, agentLog, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
