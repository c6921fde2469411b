import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setWriterInterval } from '@strata/testing';
import { prepareBackends, type Backends } from './backends.js';
import { setupCloud, type Cloud } from './cloud.js';
import { readAdminCredentials, startServerProcess, type ServerProcess } from './processes.js';
import { Rest, type Page } from './rest.js';
import { DEMO_VM_PREFIX, runStory, waitForGuestAgent, type StoryResult } from './story.js';
import { discardVm } from './discard-vm.js';
import { addKvmHost, type JoinedKvmHost } from './kvm-hosts.js';
import type { DemoHost } from './migration-check.js';

export interface DemoOptions {
  /** Where the server's data, the agent's state and the qcow2 pool live. */
  readonly root: string;
  readonly port: number;
  readonly agentPort: number;
  /** Leave the server and agent running after the demo (the README's bring-up). */
  readonly detached: boolean;
  readonly log: (line: string) => void;
  /** Told of every process the demo starts, as soon as it starts (tests stop them even on failure). */
  readonly track?: (child: ChildProcess) => void;
  /** `postgres://…` to run the server on PostgreSQL; default the embedded PGlite in root/server. */
  readonly databaseUrl?: string;
  /** The Ceph pool of this installation's RBD storage; default the tests' pool. */
  readonly cephPool?: string;
  /**
   * The host state directory (transient overlays, memory states) the server it starts names and
   * its agent serves; default STRATA_HOST_STATE_DIR, else /var/lib/strata/state.
   */
  readonly hostStateDir?: string;
}

/** Where the demo keeps host-local state of VM snapshots unless told otherwise (as installed). */
export const DEMO_HOST_STATE_DIR = '/var/lib/strata/state';

export interface DemoRun {
  readonly server: ServerProcess | null;
  readonly url: string;
  readonly result: StoryResult;
  /** The two KVM hosts the demo's VM runs and moves on. */
  readonly hosts: readonly JoinedKvmHost[];
  /** Every check the demo makes, with whether it held. */
  readonly verdicts: ReadonlyArray<{ readonly check: string; readonly ok: boolean }>;
  /** Stops the demo VM and the processes this run started (tests; the README leaves them up). */
  cleanup(): Promise<void>;
}

export interface Environment {
  readonly server: ServerProcess | null;
  readonly url: string;
  /** Where agents join (`wss://127.0.0.1:PORT/agent/v1`). */
  readonly agentUrl: string;
  readonly rest: Rest;
  readonly backends: Backends;
  readonly cloud: Cloud;
  /** The host state directory the server names (every host binds its own there). */
  readonly hostStateDir: string;
}

/** Starts (or reuses) Strata on this machine: backends, server, agent, pools and template. */
export async function bringUp(o: DemoOptions): Promise<Environment> {
  const hostStateDir = o.hostStateDir ?? process.env['STRATA_HOST_STATE_DIR'] ?? DEMO_HOST_STATE_DIR;
  const backends = await prepareBackends(o.root, o.log, o.cephPool);
  const dataDir = join(o.root, 'server');
  const url = `http://127.0.0.1:${o.port}`;
  const running = await fetch(`${url}/openapi.json`).then(
    (r) => r.ok,
    () => false,
  );
  let server: ServerProcess | null = null;
  if (!running) {
    const db = o.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${dataDir}`;
    o.log(`starting the management server on ${url} (${db})`);
    server = await startServerProcess({
      dataDir,
      port: o.port,
      agentPort: o.agentPort,
      detached: o.detached,
      track: o.track ?? (() => undefined),
      env: {
        STRATA_HOST_STATE_DIR: hostStateDir,
        ...(o.databaseUrl && { STRATA_DATABASE_URL: o.databaseUrl }),
      },
    });
  } else {
    o.log(`a management server already answers on ${url}; reusing it`);
  }
  const creds = await readAdminCredentials(dataDir);
  const rest = new Rest(url, creds.apiKey, creds.secretKey);
  const agentUrl = `wss://127.0.0.1:${o.agentPort}/agent/v1`;
  const cloud = await setupCloud(rest, backends, {
    serverAgentUrl: agentUrl,
    agentStateDir: join(o.root, 'agent'),
    hostStateDir,
    detached: o.detached,
    log: o.log,
    track: o.track ?? (() => undefined),
  });
  return { server, url, agentUrl, rest, backends, cloud, hostStateDir };
}

/**
 * A second run of the README's bring-up repeats the demo with a new VM: the earlier run's VM is
 * stopped (kept, with its snapshots) so one writing guest runs at a time on this machine.
 */
async function stopEarlierDemoVms(rest: Rest, log: (line: string) => void): Promise<void> {
  const vms = await rest.get<Page<{ id: string; name: string; state: string }>>('/v1/vms', {
    state: 'Running',
    limit: 100,
  });
  for (const vm of vms.items.filter((v) => v.name.startsWith(DEMO_VM_PREFIX))) {
    log(`stopping the earlier demo VM ${vm.id} (kept, with its snapshots)`);
    await rest.run(`/v1/vms/${vm.id}/stop`, { forced: true });
  }
}

const DETACHED_WRITER_INTERVAL_S = 2;

/**
 * The longest pause between two writes the demo accepts across a live migration, on the guest's
 * clock: the writer's round is 50 ms and a migration stops the vCPUs only for its last copy.
 */
const MAX_MIGRATION_GAP_MS = 2_000;

function keptWriting(result: StoryResult, toHostId: string): boolean {
  const m = result.migration;
  return (
    m !== null &&
    m.to === toHostId &&
    m.through.toSeq > m.through.fromSeq &&
    m.through.missing === 0 &&
    m.through.longestGapMs <= MAX_MIGRATION_GAP_MS
  );
}

/**
 * The two KVM hosts of the demo, each its own libvirtd and agent in its own namespaces on this
 * machine (as the tests' hosts are). The README's bring-up keeps them (under root/hosts, reused by
 * its next run); a test's are its own, stopped by its cleanup.
 */
async function demoHosts(env: Environment, o: DemoOptions): Promise<JoinedKvmHost[]> {
  const sfx = o.detached ? '' : `-${Math.random().toString(36).slice(2, 6)}`;
  const hosts: JoinedKvmHost[] = [];
  try {
    for (const n of ['a', 'b']) {
      const name = `demo-kvm-${n}${sfx}`;
      o.log(`bringing up KVM host ${name} (its own libvirtd and agent in their own namespaces)`);
      hosts.push(
        await addKvmHost(env, {
          name,
          hostStateDir: env.hostStateDir,
          ...(o.track && { track: o.track }),
          ...(o.detached && { keptRoot: join(o.root, 'hosts') }),
        }),
      );
    }
    return hosts;
  } catch (e) {
    if (!o.detached) for (const h of hosts) await h.stop().catch(() => undefined);
    throw e;
  }
}

const demoHost = (h: JoinedKvmHost): DemoHost => ({
  id: h.id,
  name: h.name,
  uri: h.host.uri,
  initiatorName: h.host.initiatorName,
});

/**
 * Starts (or reuses) Strata on this machine with two KVM hosts and runs the VM-snapshot story
 * through its API, the VM moving from one host to the other between its snapshot and its revert.
 */
export async function runDemo(o: DemoOptions): Promise<DemoRun> {
  const env = await bringUp(o);
  const { server, url, rest, backends, cloud } = env;
  if (o.detached) await stopEarlierDemoVms(rest, o.log);
  const hosts = await demoHosts(env, o);
  const stopHosts = async () => {
    for (const h of hosts) await h.stop().catch(() => undefined);
  };
  const [from, to] = hosts.map(demoHost) as [DemoHost, DemoHost];
  const result = await runStory(rest, backends, cloud, o.log, { move: { from, to } }).catch(
    async (e: unknown) => {
      if (!o.detached) await stopHosts();
      throw e;
    },
  );
  const uri = result.hostUri ?? undefined;
  if (o.detached) {
    // Left running for the user: still writing, but no longer a busy CPU beside whatever runs next.
    // the revert restarted the guest: its agent answers again before it can be told
    await waitForGuestAgent(result.vmId, 180_000, uri)
      .then(() => setWriterInterval(result.vmId, DETACHED_WRITER_INTERVAL_S, uri))
      .then(
        () =>
          o.log(`the demo VM keeps running, its writer now one round every ${DETACHED_WRITER_INTERVAL_S} s`),
        (e: unknown) => o.log(`the demo VM's writer keeps its pace: ${(e as Error).message}`),
      );
  }
  const verdicts = [
    {
      check: 'the snapshot is Ready and filesystem-consistent',
      ok: result.snapshot.state === 'Ready' && result.snapshot.consistency === 'filesystem',
    },
    { check: 'cross-disk order kept after the revert', ok: result.orderOk },
    { check: 'no write before the cut is missing on any disk', ok: result.missingBelowCut === 0 },
    {
      check: 'every disk went back: its last write after the revert precedes its last before',
      ok: result.disks.every((d) => d.records > 0 && d.lastSeqAfterRevert < d.lastSeqBefore),
    },
    {
      check: `the guest kept writing through its live migration to another host (no write missing, no gap over ${MAX_MIGRATION_GAP_MS} ms)`,
      ok: keptWriting(result, to.id),
    },
  ];
  const cleanup = async () => {
    await discardVm(rest, result.vmId);
    await stopHosts();
    cloud.agent?.kill('SIGTERM');
    server?.child.kill('SIGTERM');
  };
  return { server, url, result, hosts, verdicts, cleanup };
}
