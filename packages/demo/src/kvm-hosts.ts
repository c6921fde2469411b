import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_HOST_STATE_DIR, ensureKeptKvmHost, startKvmHost, type KvmHost } from '@strata/testing';
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
  /** Its agent process, running inside the host (null: a kept host's agent an earlier run started). */
  readonly agent: ChildProcess | null;
  /** SIGKILLs its agent (a crash test's host losing its agent; QEMU and libvirtd stay). */
  killAgent(): void;
  /** Starts its agent again, with the credentials it registered with; resolves at once. */
  startAgent(): void;
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
 * directory and snapshot store (the same paths, as NFS would be); its host state directory is its
 * own. Resolves when the host is Up.
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
    /**
     * Keep the host and its agent running after this process ends, under this directory (the
     * README's bring-up); a host an earlier run left there is reused. Default: a test host.
     */
    readonly keptRoot?: string;
  },
): Promise<JoinedKvmHost> {
  const hostStateDir = opts.hostStateDir ?? DEFAULT_HOST_STATE_DIR;
  const kept = opts.keptRoot
    ? await ensureKeptKvmHost({ name: opts.name, root: opts.keptRoot, hostStateDir })
    : null;
  const host = kept?.host ?? (await startKvmHost({ name: opts.name, hostStateDir }));
  const logFile = join(host.dir, 'agent.log');
  const agentLog = async () => (await readFile(logFile, 'utf8').catch(() => '')).slice(-4000);
  let agent: ChildProcess | undefined;
  const stop = async () => {
    if (agent) await ended(agent, 10_000);
    await host.stop();
  };
  const upNamed = async () =>
    (await env.rest.get<Page<HostView>>('/v1/hosts', { name: opts.name })).items.find(
      (h) => h.state === 'Up',
    );
  const launch = (token: string | null, fingerprint: string) => {
    agent = startAgentProcess({
      serverUrl: env.agentUrl,
      fingerprint,
      token,
      stateDir: host.agentDir,
      detached: kept !== null,
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
    opts.track?.(agent);
    return agent;
  };
  try {
    const already = kept?.reused ? await upNamed() : undefined;
    const handle = (id: string, fingerprint: string): JoinedKvmHost => ({
      id,
      name: opts.name,
      host,
      get agent() {
        return agent ?? null;
      },
      killAgent: () => agent?.kill('SIGKILL'),
      startAgent: () => void launch(null, fingerprint),
      agentLog,
      stop,
    });
    const issued = await env.rest.post<{ token: string; fingerprint: string }>(
      '/v1/hosts/registration-tokens',
      { clusterId: env.cloud.clusterId },
    );
    if (already) return handle(already.id, issued.fingerprint);
    // a kept host's agent that registered before uses its credentials (its token goes unused)
    const started = launch(issued.token, issued.fingerprint);
    const up = await waitUntil(`host ${opts.name} to be Up`, 120_000, async () => {
      if (started.exitCode !== null) throw new Error(`its agent exited with ${started.exitCode}`);
      return upNamed();
    }).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- agent log ---\n${await agentLog()}`, { cause: e });
    });
    return handle(up.id, issued.fingerprint);
  } catch (e) {
    // a kept host an earlier run left running (with its VMs) stays as it was
    if (!kept?.reused) await stop().catch(() => undefined);
    throw e;
  }
}
