import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MON_ADDR, renderCephConf } from './config.js';
import { run, startDaemon, type RunResult } from './exec.js';
import { processAlive, withFileLock } from './lock.js';

/** A running single-node cluster, as the tests and drivers need to reach it. */
export interface CephCluster {
  readonly dir: string;
  readonly fsid: string;
  /** ceph.conf: holds no admin key, safe to pass to client processes with `--conf`. */
  readonly confPath: string;
  readonly adminKeyringPath: string;
  /** cephx entity of the admin key, `client.admin`. */
  readonly adminName: string;
  /** The admin's secret (base64), for drivers that take a key rather than a keyring. */
  readonly adminKey: string;
  /** Monitor addresses as host:port (msgr v2 only, port 3300). */
  readonly monitors: readonly string[];
  /** A pool with the rbd application enabled, shared by tests (use unique image names). */
  readonly pool: string;
}

export interface EnsureCephOptions {
  /** State directory; default STRATA_CEPH_DIR or /var/tmp/strata-ceph. */
  readonly dir?: string;
  /** Size of the sparse OSD file; default 64 GiB. */
  readonly osdBytes?: number;
  /**
   * The rbd pool to make and describe; default the tests' pool. The README's demo keeps its own
   * (DEMO_POOL), so tests never see, nor its orphan collector touch, each other's images.
   */
  readonly pool?: string;
}

export const DEFAULT_TEST_POOL = 'strata-test';
/** The pool of the demo the README's first command leaves running. */
export const DEMO_POOL = 'strata-demo';

function defaultDir(): string {
  return process.env['STRATA_CEPH_DIR'] ?? '/var/tmp/strata-ceph';
}

/** Runs the `ceph` CLI as admin with the conf and keyring named explicitly. */
export function cephAdmin(
  cluster: Pick<CephCluster, 'confPath' | 'adminKeyringPath'>,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<RunResult> {
  return run(
    'ceph',
    [
      '--conf',
      cluster.confPath,
      '--keyring',
      cluster.adminKeyringPath,
      '--name',
      'client.admin',
      '--connect-timeout',
      '10',
      ...args,
    ],
    timeoutMs,
  );
}

async function readPids(dir: string): Promise<number[]> {
  const runDir = join(dir, 'run');
  if (!existsSync(runDir)) return [];
  const pids: number[] = [];
  for (const name of await readdir(runDir)) {
    if (!name.endsWith('.pid')) continue;
    const pid = Number((await readFile(join(runDir, name), 'utf8').catch(() => '')).trim());
    if (pid > 0) pids.push(pid);
  }
  return pids;
}

async function monAlive(dir: string): Promise<boolean> {
  const pid = Number((await readFile(join(dir, 'run', 'mon.a.pid'), 'utf8').catch(() => '')).trim());
  return pid > 0 && processAlive(pid);
}

/** Stops the daemons this launcher started in `dir` (by their pid files), then waits for them. */
export async function stopCeph(dir = defaultDir()): Promise<void> {
  const pids = (await readPids(dir)).filter(processAlive);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(processAlive)) process.kill(pid, 'SIGKILL');
}

async function health(conf: Pick<CephCluster, 'confPath' | 'adminKeyringPath'>): Promise<string> {
  const { stdout } = await cephAdmin(conf, ['health', '--format', 'json'], 15_000);
  return (JSON.parse(stdout) as { status: string }).status;
}

/**
 * Kills the OSD as a crash would (SIGKILL), leaves it down for `downMs`, starts it again as a
 * service manager would and waits for HEALTH_OK. For the chaos run by hand, alone on the machine:
 * every client of the cluster stalls while its only OSD is down.
 */
export async function restartOsd(
  cluster: Pick<CephCluster, 'dir' | 'confPath' | 'adminKeyringPath'>,
  downMs = 2_000,
): Promise<void> {
  const pidFile = join(cluster.dir, 'run', 'osd.0.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (pid > 0 && processAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, downMs));
  await startDaemon('ceph-osd', ['--conf', cluster.confPath, '-i', '0']);
  await waitHealthy(cluster, 120_000);
}

/** Polls until HEALTH_OK; a cluster still settling (pgs peering) says WARN for a moment. */
export async function waitHealthy(
  conf: Pick<CephCluster, 'confPath' | 'adminKeyringPath'>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'unknown';
  while (Date.now() < deadline) {
    last = await health(conf).catch((err: unknown) => String(err));
    if (last === 'HEALTH_OK') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const detail = await cephAdmin(conf, ['health', 'detail'], 15_000).then(
    (r) => r.stdout,
    (e: unknown) => String(e),
  );
  throw new Error(`Ceph did not reach HEALTH_OK within ${timeoutMs} ms (last: ${last}): ${detail}`);
}

/** Creates a size-1 rbd pool if it does not exist (idempotent). */
export async function ensurePool(
  cluster: Pick<CephCluster, 'confPath' | 'adminKeyringPath'>,
  pool: string,
): Promise<void> {
  const { stdout } = await cephAdmin(cluster, ['osd', 'pool', 'ls', '--format', 'json']);
  if ((JSON.parse(stdout) as string[]).includes(pool)) return;
  await cephAdmin(cluster, ['osd', 'pool', 'create', pool, '8', '8']);
  await cephAdmin(cluster, ['osd', 'pool', 'set', pool, 'size', '1', '--yes-i-really-mean-it']);
  await cephAdmin(cluster, ['osd', 'pool', 'application', 'enable', pool, 'rbd']);
  await waitHealthy(cluster);
  // `ceph df` reads the mgr's stats, which learn of a new pool a few seconds late: callers that
  // size the pool right away (drivers' capacity) must find it there.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const df = JSON.parse((await cephAdmin(cluster, ['df', '--format', 'json'])).stdout) as {
      pools: Array<{ name: string }>;
    };
    if (df.pools.some((p) => p.name === pool)) return;
    if (Date.now() > deadline) throw new Error(`pool ${pool} never appeared in ceph df`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function bootstrap(dir: string, osdBytes: number): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['run', 'log', 'mon', 'mgr', 'osd']) await mkdir(join(dir, sub), { recursive: true });
  const fsid = randomUUID();
  const confPath = join(dir, 'ceph.conf');
  const adminKeyringPath = join(dir, 'admin.keyring');
  const monKeyring = join(dir, 'mon.keyring');
  await writeFile(confPath, renderCephConf({ dir, fsid, osdBytes }));
  await writeFile(join(dir, 'fsid'), fsid);
  const conf = { confPath, adminKeyringPath };

  await run('ceph-authtool', [
    '--create-keyring',
    monKeyring,
    '--gen-key',
    '-n',
    'mon.',
    '--cap',
    'mon',
    'allow *',
  ]);
  await run('ceph-authtool', [
    '--create-keyring',
    adminKeyringPath,
    '--gen-key',
    '-n',
    'client.admin',
    '--cap',
    'mon',
    'allow *',
    '--cap',
    'osd',
    'allow *',
    '--cap',
    'mds',
    'allow *',
    '--cap',
    'mgr',
    'allow *',
  ]);
  await run('ceph-authtool', [monKeyring, '--import-keyring', adminKeyringPath]);
  const monmap = join(dir, 'monmap');
  await run('monmaptool', ['--create', '--addv', 'a', `[v2:${MON_ADDR}]`, '--fsid', fsid, monmap]);
  await run('ceph-mon', [
    '--conf',
    confPath,
    '--mkfs',
    '-i',
    'a',
    '--monmap',
    monmap,
    '--keyring',
    monKeyring,
  ]);
  await startDaemon('ceph-mon', ['--conf', confPath, '-i', 'a']);

  await cephAdmin(conf, [
    'auth',
    'get-or-create',
    'mgr.x',
    'mon',
    'allow profile mgr',
    'osd',
    'allow *',
    'mds',
    'allow *',
    '-o',
    join(dir, 'mgr', 'keyring'),
  ]);
  await startDaemon('ceph-mgr', ['--conf', confPath, '-i', 'x']);

  const osdUuid = randomUUID();
  const osdKey = (await run('ceph-authtool', ['--gen-print-key'])).stdout.trim();
  const secrets = join(dir, 'osd-secrets.json');
  await writeFile(secrets, JSON.stringify({ cephx_secret: osdKey }));
  await cephAdmin(conf, ['osd', 'new', osdUuid, '0', '-i', secrets]);
  await rm(secrets);
  await run('ceph-authtool', [
    '--create-keyring',
    join(dir, 'osd', 'keyring'),
    '--name',
    'osd.0',
    '--add-key',
    osdKey,
  ]);
  await run('ceph-osd', ['--conf', confPath, '-i', '0', '--mkfs', '--osd-uuid', osdUuid], 60_000);
  await startDaemon('ceph-osd', ['--conf', confPath, '-i', '0']);
  await waitHealthy(conf);
}

async function describe(dir: string, pool: string): Promise<CephCluster> {
  const adminKeyringPath = join(dir, 'admin.keyring');
  const keyring = await readFile(adminKeyringPath, 'utf8');
  const adminKey = /key\s*=\s*(\S+)/.exec(keyring)?.[1];
  if (!adminKey) throw new Error(`no key in ${adminKeyringPath}`);
  return {
    dir,
    fsid: (await readFile(join(dir, 'fsid'), 'utf8')).trim(),
    confPath: join(dir, 'ceph.conf'),
    adminKeyringPath,
    adminName: 'client.admin',
    adminKey,
    monitors: [MON_ADDR],
    pool,
  };
}

/** A reused cluster gets the current conf: clients read it at every command (daemons at start). */
async function refreshConf(dir: string, osdBytes: number): Promise<void> {
  const confPath = join(dir, 'ceph.conf');
  const fsid = (await readFile(join(dir, 'fsid'), 'utf8')).trim();
  const want = renderCephConf({ dir, fsid, osdBytes });
  if ((await readFile(confPath, 'utf8').catch(() => '')) !== want) {
    await writeFile(`${confPath}.new`, want);
    await rename(`${confPath}.new`, confPath);
  }
}

const running = new Map<string, Promise<CephCluster>>();

/**
 * Brings up (or reuses) a single-node Ceph 16 cluster on 127.0.0.1: one mon (msgr v2, port 3300),
 * one mgr, one bluestore OSD on a sparse file, and a test pool, at HEALTH_OK. A healthy cluster
 * left by an earlier test file is reused; a dead one is wiped and rebuilt (~7 s).
 */
export function ensureCeph(options: EnsureCephOptions = {}): Promise<CephCluster> {
  const dir = options.dir ?? defaultDir();
  const pool = options.pool ?? DEFAULT_TEST_POOL;
  const key = `${dir}\0${pool}`;
  let pending = running.get(key);
  if (!pending) {
    pending = withFileLock(`${dir}.lock`, async () => {
      const conf = { confPath: join(dir, 'ceph.conf'), adminKeyringPath: join(dir, 'admin.keyring') };
      const reusable =
        existsSync(join(dir, 'fsid')) &&
        (await monAlive(dir)) &&
        (await waitHealthy(conf, 20_000).then(
          () => true,
          () => false,
        ));
      if (!reusable) {
        await stopCeph(dir);
        await bootstrap(dir, options.osdBytes ?? 64 * 1024 ** 3);
      } else {
        await refreshConf(dir, options.osdBytes ?? 64 * 1024 ** 3);
      }
      await ensurePool(conf, pool);
      return describe(dir, pool);
    });
    pending.catch(() => running.delete(key));
    running.set(key, pending);
  }
  return pending;
}
