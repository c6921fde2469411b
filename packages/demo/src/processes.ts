import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { DEFAULT_GUEST_CACHE, stackDatabaseUrl, stackOnPostgres } from '@strata/testing';

const repo = new URL('../../../', import.meta.url).pathname;

export interface ServerProcess {
  readonly url: string;
  readonly agentUrl: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
}

export interface AdminCredentials {
  readonly apiKey: string;
  readonly secretKey: string;
}

async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/**
 * Starts the management server as its own process (the shipped main.js) on the embedded
 * database, logs to <dataDir>/server.log; `detached` keeps it running after the demo exits.
 */
export async function startServerProcess(opts: {
  dataDir: string;
  port: number;
  agentPort: number;
  detached: boolean;
  track: (child: ChildProcess) => void;
  /** Extra environment for the server (tests: a stable server id, a fault hook). */
  env?: Readonly<Record<string, string>>;
  /**
   * A command that runs the server (tests: `nsenter -t PID -m --`, to start it in another mount
   * namespace); it must exec the server, so the child is the server itself.
   */
  wrap?: readonly string[];
}): Promise<ServerProcess> {
  await mkdir(opts.dataDir, { recursive: true });
  const database = opts.env?.['STRATA_DATABASE_URL'] ?? (await stackDatabaseOf(opts.dataDir));
  const log = openSync(join(opts.dataDir, 'server.log'), 'a');
  const command = [
    process.execPath,
    join(repo, 'packages/server/dist/main.js'),
    '--data-dir',
    opts.dataDir,
    '--port',
    String(opts.port),
  ];
  const [program, ...args] = [...(opts.wrap ?? []), ...command] as [string, ...string[]];
  const child = spawn(program, args, {
    env: {
      ...process.env,
      STRATA_AGENT_PORT: String(opts.agentPort),
      // the test guest's images are the demo's templates (docs/security.md: template directories)
      STRATA_TEMPLATE_DIRS:
        process.env['STRATA_TEMPLATE_DIRS'] ??
        [join(opts.dataDir, 'templates'), DEFAULT_GUEST_CACHE].join(':'),
      STRATA_LOG_LEVEL: process.env['STRATA_LOG_LEVEL'] ?? 'info',
      ...(database && { STRATA_DATABASE_URL: database }),
      ...opts.env,
    },
    stdio: ['ignore', log, log],
    detached: opts.detached,
  });
  opts.track(child);
  if (opts.detached) child.unref();
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await waitUntil('the management server', 240_000, async () => {
      if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
      return (await fetch(`${url}/openapi.json`)).ok ? true : undefined;
    });
  } catch (e) {
    const tail = (await readFile(join(opts.dataDir, 'server.log'), 'utf8').catch(() => '')).slice(-3000);
    throw new Error(`${(e as Error).message}\n--- server.log ---\n${tail}`, { cause: e });
  }
  return { url, agentUrl: `wss://127.0.0.1:${opts.agentPort}/agent/v1`, dataDir: opts.dataDir, child };
}

/**
 * The run's whole-stack database for a server in `dataDir` (stackDatabaseUrl): null keeps the
 * embedded default. Kept in the data directory, so a server restarted there (the crash tests)
 * finds the same database again.
 */
async function stackDatabaseOf(dataDir: string): Promise<string | null> {
  if (!stackOnPostgres()) return null;
  const file = join(dataDir, 'test-database-url');
  const known = await readFile(file, 'utf8').catch(() => null);
  if (known) return known;
  const url = await stackDatabaseUrl('', 'demo');
  await writeFile(file, url);
  return url;
}

export async function readAdminCredentials(dataDir: string): Promise<AdminCredentials> {
  const c = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as AdminCredentials;
  return { apiKey: c.apiKey, secretKey: c.secretKey };
}

/**
 * Starts a host agent process (the shipped agent entry) that registers with the server once, in
 * both roles: a KVM host and the storage node of the pools at or below `poolDirs` (ADR 0003). Its
 * file commands serve `hostStateDir` (the server's STRATA_HOST_STATE_DIR) and `poolDirs`.
 */
export function startAgentProcess(opts: {
  serverUrl: string;
  fingerprint: string;
  token: string | null;
  stateDir: string;
  detached: boolean;
  hostStateDir: string;
  /** The pool directories this machine mounts or holds (its file commands serve them). */
  poolDirs: readonly string[];
  /** The snapshot store it mounts (memory states every host sees), when there is one. */
  snapshotStore?: string;
  /** Default `kvm,storage`: also the storage node of the pools at or below `poolDirs`. */
  roles?: string;
  /**
   * A command that runs the agent (a test KVM host's `nsenter … --`, so its plain qemu:///system
   * is that host's libvirtd); it must exec the agent, so the child is the agent itself.
   */
  wrap?: readonly string[];
  /** Extra environment (a reported capacity: STRATA_AGENT_CPUS, …). */
  env?: Readonly<Record<string, string>>;
  /** Default `<stateDir>.log`. */
  logFile?: string;
}): ChildProcess {
  const log = openSync(opts.logFile ?? `${opts.stateDir}.log`, 'a');
  const command = [process.execPath, join(repo, 'packages/agent/dist/channel/main.js')];
  const [program, ...args] = [...(opts.wrap ?? []), ...command] as [string, ...string[]];
  const child = spawn(program, args, {
    env: {
      ...process.env,
      STRATA_SERVER_URL: opts.serverUrl,
      STRATA_SERVER_FINGERPRINT: opts.fingerprint,
      ...(opts.token ? { STRATA_REGISTRATION_TOKEN: opts.token } : {}),
      STRATA_AGENT_STATE_DIR: opts.stateDir,
      STRATA_AGENT_ROLES: opts.roles ?? 'kvm,storage',
      STRATA_HOST_STATE_DIR: opts.hostStateDir,
      STRATA_AGENT_POOL_DIRS: opts.poolDirs.join(delimiter),
      ...(opts.snapshotStore && { STRATA_AGENT_SNAPSHOT_STORE: opts.snapshotStore }),
      ...opts.env,
    },
    stdio: ['ignore', log, log],
    detached: opts.detached,
  });
  if (opts.detached) child.unref();
  return child;
}

export { waitUntil };
