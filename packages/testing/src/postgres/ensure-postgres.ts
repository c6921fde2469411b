import { execFile, spawn } from 'node:child_process';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Debian package's binaries (postgresql-15); no systemd, no cluster wrappers. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
/** Shared by every test process on this machine so they reuse one server. */
const BASE = process.env['STRATA_TEST_PG_DIR'] ?? '/tmp/strata-test-postgres';
const DATA = join(BASE, 'data');
const STATE = join(BASE, 'state.json');
const LOCK = join(BASE, '.lock');
const OS_USER = 'postgres';

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Superuser, trust authentication on loopback only. */
  readonly user: string;
  /** True when this call started the server (false when it was already answering). */
  readonly started: boolean;
  /** An admin URL (database `postgres`). */
  readonly url: string;
}

interface State {
  readonly port: number;
}

async function osUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', OS_USER]), run('id', ['-g', OS_USER])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function answering(port: number): Promise<boolean> {
  try {
    await run(join(POSTGRES_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-t', '3'], {
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

async function readState(): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(STATE, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Runs a binary as the `postgres` OS user: initdb and postgres refuse to run as root. */
async function runAsPostgres(
  binary: string,
  args: readonly string[],
  ids: { uid: number; gid: number },
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(join(POSTGRES_BIN, binary), [...args], {
      uid: ids.uid,
      gid: ids.gid,
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: BASE,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

/** A cross-process lock (mkdir is atomic): parallel test files must not both run initdb. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(BASE, { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      const st = await stat(LOCK).catch(() => null);
      if (st && Date.now() - st.mtimeMs > 120_000) await rm(LOCK, { recursive: true, force: true });
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

async function start(): Promise<{ port: number; started: boolean }> {
  const known = await readState();
  if (known && (await answering(known.port))) return { port: known.port, started: false };
  const ids = await osUser();
  await chown(BASE, ids.uid, ids.gid);
  const initialised = await stat(join(DATA, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    await rm(DATA, { recursive: true, force: true });
    await runAsPostgres(
      'initdb',
      ['-D', DATA, '-U', OS_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      ids,
    );
  }
  const port = await freePort();
  // Throwaway test data: durability off, enough connections for several servers' pools.
  const options = [
    `-p ${port}`,
    `-k ${BASE}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
    '-c shared_buffers=64MB',
  ].join(' ');
  await runAsPostgres(
    'pg_ctl',
    ['-D', DATA, '-l', join(BASE, 'server.log'), '-o', options, '-w', '-t', '60', 'start'],
    ids,
  );
  if (!(await answering(port))) throw new Error(`PostgreSQL started but does not answer on port ${port}`);
  await writeFile(STATE, JSON.stringify({ port } satisfies State));
  return { port, started: true };
}

let pending: Promise<PostgresServer> | undefined;

/**
 * Makes a throwaway PostgreSQL 15 server run on a free loopback port (initdb into
 * /tmp/strata-test-postgres on first use). Idempotent and safe from every test file and process:
 * a server that already answers is reused.
 */
export function ensurePostgres(): Promise<PostgresServer> {
  pending ??= withLock(start)
    .then(({ port, started }) => ({
      host: '127.0.0.1',
      port,
      user: OS_USER,
      started,
      url: `postgres://${OS_USER}@127.0.0.1:${port}/postgres`,
    }))
    .catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
  return pending;
}

/** Stops the shared server (fast shutdown). Tests normally leave it running for the next file. */
export async function stopPostgres(): Promise<void> {
  pending = undefined;
  const ids = await osUser();
  await withLock(async () => {
    if (
      await stat(join(DATA, 'postmaster.pid')).then(
        () => true,
        () => false,
      )
    ) {
      await runAsPostgres('pg_ctl', ['-D', DATA, '-m', 'fast', '-w', 'stop'], ids);
    }
    await rm(STATE, { force: true });
  });
}
