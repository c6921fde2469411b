import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePool } from '@strata/testing';
import type { Backends } from './backends.js';
import { demoPoolDirs, type Cloud, type Named } from './cloud.js';
import { bringUp, type Environment } from './demo.js';
import { startAgentProcess, startServerProcess, type ServerProcess } from './processes.js';
import { discardVm } from './discard-vm.js';
import { addKvmHost, type JoinedKvmHost } from './kvm-hosts.js';
import type { DemoHost } from './migration-check.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

/**
 * One Ceph pool for the crash tests: emptied at the start of each run (see purgeRbdPool), so two
 * crash tests never share it; STRATA_CRASH_RBD_POOL names another, to run one beside a suite.
 */
export const CRASH_RBD_POOL = process.env['STRATA_CRASH_RBD_POOL'] ?? 'strata-crash';
/** The server restarts under this id, so it takes its previous life's jobs back at once. */
const SERVER_ID = 'crash-server';

/**
 * bringUp with what crash tests need on top: a server process they can kill and restart (fixed
 * server id, private host state dir, a fault point), an agent they can kill and restart, and pools
 * of their own (tgt directory, Ceph pool) so the orphan collector sees nothing of other tests.
 */
export interface CrashEnv {
  readonly env: Environment;
  readonly root: string;
  readonly stateDir: string;
  readonly tgtDir: string;
  /** The management port of the tgtd serving tgtDir when it is not the machine's (`tgtd -C N`). */
  readonly tgtControlPort?: number;
  /** The cloud with this run's private pools in place of the shared ones. */
  readonly cloud: Cloud;
  /**
   * Two KVM hosts beside the machine's (the storage node): each its own libvirtd and agent in its
   * own namespaces. The crash tests' VMs run on the first; migrations go between them.
   */
  readonly kvm: readonly [JoinedKvmHost, JoinedKvmHost];
  /** The first KVM host, as buildDemoVm takes it. */
  readonly vmHost: DemoHost;
  /** The libvirtd that runs (or last ran) the VM, from its recorded host. */
  uriOf(vmId: string): Promise<string>;
  /** The libvirtd URI of every host: the machine's and each KVM host's. */
  readonly uris: readonly string[];
  readonly backends: Backends;
  server(): ServerProcess;
  /** SIGKILLs the server if it runs and starts it again, with `faultAt` (STRATA_FAULT_KILL_AT) or none. */
  restartServer(faultAt?: string): Promise<ServerProcess>;
  /** SIGKILLs the server and waits for it to be gone (its data directory is then free). */
  stopServer(): Promise<void>;
  readonly dataDir: string;
  /**
   * The server's hold file (STRATA_FAULT_HOLD_FILE): write a `<jobType>:<step>:<boundary>` into it
   * and the next job to reach that boundary waits there (announcing it in `<file>.held`) until the
   * file is removed.
   */
  readonly holdFile: string;
  readonly url: string;
  /** Resolves once the server process has exited (a fault point killed it). */
  serverExited(timeoutMs: number): Promise<NodeJS.Signals | number | null>;
  /** SIGKILLs every agent: the storage node's and each KVM host's. */
  killAgent(): void;
  /** Starts every agent again (each reconnects with its credentials at once). */
  startAgent(): Promise<void>;
  tail(): Promise<string>;
  /**
   * Stops the VMs named (forced), kills every process this run started, removes its files (kept
   * for a look when `keep`, e.g. after a failure: logs are in the root).
   */
  close(vmIds?: readonly string[], keep?: boolean): Promise<void>;
}

async function waitExit(child: ChildProcess, timeoutMs: number): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode ?? child.exitCode;
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(t);
      resolve(signal ?? code);
    };
    const t = setTimeout(() => {
      child.off('exit', onExit);
      reject(new Error(`the server did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', onExit);
  });
}

/** Removes every group, snapshot and image of the crash tests' own Ceph pool (left by earlier runs). */
async function purgeRbdPool(b: Backends): Promise<void> {
  if (!b.ceph) return;
  const rbd = (args: string[]) =>
    run(
      'rbd',
      ['--conf', b.ceph!.confPath, '--keyring', b.ceph!.adminKeyringPath, '--id', 'admin', ...args],
      {
        timeout: 60_000,
      },
    );
  const groups = JSON.parse(
    (await rbd(['group', 'ls', '--format', 'json', CRASH_RBD_POOL])).stdout || '[]',
  ) as string[];
  for (const g of groups) await rbd(['group', 'rm', `${CRASH_RBD_POOL}/${g}`]);
  const images = JSON.parse(
    (await rbd(['ls', '--format', 'json', CRASH_RBD_POOL])).stdout || '[]',
  ) as string[];
  for (const i of images) {
    await rbd(['snap', 'purge', `${CRASH_RBD_POOL}/${i}`]).catch(() => undefined);
    await rbd(['rm', '--no-progress', `${CRASH_RBD_POOL}/${i}`]);
  }
}

async function ensure(rest: Environment['rest'], path: string, name: string, body: object): Promise<Named> {
  return (await rest.findByName<Named>(path, name)) ?? (await rest.post<Named>(path, { name, ...body }));
}

export async function crashEnvironment(log: (line: string) => void): Promise<CrashEnv> {
  const root = await mkdtemp('/var/tmp/strata-crash-');
  const children: ChildProcess[] = [];
  const track = (c: ChildProcess) => void children.push(c);
  const stateDir = join(root, 'state');
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  try {
    return await setUp(root, stateDir, children, track, log);
  } catch (e) {
    // Nothing is handed back to close: stop what was started here.
    for (const c of children) c.kill('SIGKILL');
    throw new Error(`${(e as Error).message} (files kept in ${root})`, { cause: e });
  }
}

async function setUp(
  root: string,
  stateDir: string,
  children: ChildProcess[],
  track: (c: ChildProcess) => void,
  log: (line: string) => void,
): Promise<CrashEnv> {
  const port = 24_000 + Math.floor(Math.random() * 1000); // its lane runs beside files that take 18_000..23_999
  const agentPort = port + 1000;
  const dataDir = join(root, 'server');
  const holdFile = join(root, 'fault-hold');
  const start = (faultAt?: string) =>
    startServerProcess({
      dataDir,
      port,
      agentPort,
      detached: false,
      track,
      env: {
        STRATA_SERVER_ID: SERVER_ID,
        STRATA_HOST_STATE_DIR: stateDir,
        // The agent restarts with every server here, so it is back in seconds: a command that
        // finds it gone (the agent-down cases) fails after 30 s rather than the default 90 s.
        STRATA_AGENT_RECONNECT_GRACE_MS: '30000',
        STRATA_FAULT_HOLD_FILE: holdFile,
        ...(faultAt ? { STRATA_FAULT_KILL_AT: faultAt } : {}),
      },
    });
  // QEMU runs as its own user: it walks down to the state dir.
  await run('chmod', ['0755', root]);
  let server = await start();
  const env = await bringUp({ root, port, agentPort, detached: false, log, track, hostStateDir: stateDir });
  const b = env.backends;
  const tgtDir = await mkdtemp(join(dirname(b.tgtDir), 'strata-crash-tgt-'));
  await run('chmod', ['0755', tgtDir]);
  const cloud0 = env.cloud;
  const pool = (name: string, body: object) =>
    ensure(env.rest, '/v1/storage-pools', name, {
      zoneId: cloud0.zoneId,
      clusterId: cloud0.clusterId,
      scope: 'cluster',
      managed: true,
      capacityBytes: 64 * GiB,
      capacityIops: 20_000,
      ...body,
    });
  const tgt = await pool('crash tgt', { provider: 'tgt', url: `iscsi://${b.tgtPortal}${tgtDir}` });
  let rbd: Named | null = null;
  if (b.ceph) {
    await ensurePool(b.ceph, CRASH_RBD_POOL);
    await purgeRbdPool(b);
    rbd = await pool('crash rbd', {
      provider: 'rbd',
      url: `rbd://${CRASH_RBD_POOL}`,
      details: {
        confPath: b.ceph.confPath,
        keyringPath: b.ceph.adminKeyringPath,
        monitors: b.ceph.monitors.join(','),
      },
    });
  }
  // The shared pools hold other tests' volumes: out of this database, so the collector judges only ours.
  await env.rest.api.request('DELETE', `/v1/storage-pools/${cloud0.pools.tgt}`);
  if (cloud0.pools.rbd) await env.rest.api.request('DELETE', `/v1/storage-pools/${cloud0.pools.rbd}`);
  const cloud: Cloud = { ...cloud0, pools: { ...cloud0.pools, tgt: tgt.id, rbd: rbd?.id ?? null } };
  const sfx = Math.random().toString(36).slice(2, 6);
  const kvm: JoinedKvmHost[] = [];
  for (const n of ['a', 'b'])
    kvm.push(await addKvmHost(env, { name: `crash-${n}-${sfx}`, hostStateDir: stateDir, track }));
  const [ka, kb] = kvm as [JoinedKvmHost, JoinedKvmHost];
  const machineUri = 'qemu:///system';
  let agent = cloud0.agent;
  const stopServer = async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await waitExit(server.child, 30_000);
    }
  };
  const agentStateDir = join(root, 'agent');
  return {
    env,
    root,
    stateDir,
    tgtDir,
    cloud,
    kvm: [ka, kb],
    vmHost: { id: ka.id, name: ka.name, uri: ka.host.uri, initiatorName: ka.host.initiatorName },
    uris: [machineUri, ka.host.uri, kb.host.uri],
    async uriOf(vmId) {
      const { hostId } = await env.rest.get<{ hostId: string | null }>(`/v1/vms/${vmId}`);
      return kvm.find((k) => k.id === hostId)?.host.uri ?? machineUri;
    },
    backends: b,
    server: () => server,
    stopServer,
    async restartServer(faultAt) {
      await stopServer();
      server = await start(faultAt);
      return server;
    },
    dataDir,
    holdFile,
    url: env.url,
    serverExited: (timeoutMs) => waitExit(server.child, timeoutMs),
    killAgent() {
      agent?.kill('SIGKILL');
      for (const k of kvm) k.killAgent();
    },
    async startAgent() {
      const issued = await env.rest.post<{ fingerprint: string }>('/v1/hosts/registration-tokens', {
        clusterId: cloud0.clusterId,
      });
      agent = startAgentProcess({
        serverUrl: `wss://127.0.0.1:${agentPort}/agent/v1`,
        fingerprint: issued.fingerprint,
        token: null,
        stateDir: agentStateDir,
        detached: false,
        hostStateDir: stateDir,
        poolDirs: demoPoolDirs(b),
        snapshotStore: b.snapshotStore,
      });
      track(agent);
      for (const k of kvm) k.startAgent();
    },
    tail: async () => (await readFile(join(dataDir, 'server.log'), 'utf8').catch(() => '')).slice(-6000),
    async close(vmIds = [], keep = false) {
      // The stop may fail (agent gone): the domain, named by the VM id, must not outlive the test.
      for (const id of vmIds) await discardVm(env.rest, id);
      for (const k of kvm) await k.stop().catch(() => undefined);
      for (const c of children) c.kill('SIGKILL');
      if (keep) return;
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
      await rm(tgtDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
