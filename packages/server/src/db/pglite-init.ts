import { execFile } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';

const run = promisify(execFile);

/**
 * Settings the embedded database runs with, written into its postgresql.conf. A control plane's
 * working set is small; PostgreSQL's 128 MB of shared buffers would be most of the server's memory
 * (they live in PGlite's WASM heap, inside our process). Larger installations use PostgreSQL.
 */
export const PGLITE_CONF = ['shared_buffers = 32MB', 'work_mem = 4MB'];

/** True when `dataDir` already holds an initialised cluster. */
export async function isInitialised(dataDir: string): Promise<boolean> {
  return access(join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

/**
 * Creates a new data directory in a short-lived child process. PGlite's initdb grows the WASM
 * heap to about 500 MB and a WASM heap never shrinks: done in the server itself, that memory would
 * stay for the server's whole life. In a child it is returned to the system when the child exits.
 */
export async function initialiseInChild(dataDir: string, tarball?: string): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  await run(process.execPath, [self, dataDir, ...(tarball ? [tarball] : [])], { timeout: 300_000 });
}

/** Creates the cluster; with `tarball`, also writes it there as a tar (pglite-template.ts). */
async function initialiseHere(dataDir: string, tarball: string | undefined): Promise<void> {
  const pg = await PGlite.create(dataDir, { postgresqlconf: PGLITE_CONF });
  if (tarball) await writeFile(tarball, Buffer.from(await (await pg.dumpDataDir('none')).arrayBuffer()));
  await pg.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: pglite-init <data-dir> [tar-file]\n');
    process.exit(2);
  }
  await initialiseHere(dir, process.argv[3]);
}
