import { createHash, randomBytes } from 'node:crypto';
import { access, cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { initialiseInChild, PGLITE_CONF } from './pglite-init.js';

/**
 * STRATA_PGLITE_TEMPLATE names a directory that caches one freshly initialised cluster, for a
 * machine that creates many embedded databases (the test suite starts dozens of servers): a new
 * one starts from a copy of it, or, in memory, from its tar, instead of running initdb (about 7 s
 * of CPU each; a copy takes 0.1 s). Keyed by PGlite's version and our settings, built once by
 * whoever needs it first (concurrent builders race to one rename). Unset: initdb as usual.
 */
export function pgliteTemplateRoot(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env['STRATA_PGLITE_TEMPLATE'];
  return dir && dir.trim() !== '' ? dir : null;
}

interface Template {
  readonly dataDir: string;
  readonly tarball: string;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function templateKey(): Promise<string> {
  // the package exports no package.json: read it beside its resolved entry point
  const main = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pkg = join(main.slice(0, main.lastIndexOf(`${sep}dist${sep}`)), 'package.json');
  const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
  return createHash('sha256')
    .update(JSON.stringify({ version, conf: PGLITE_CONF }))
    .digest('hex')
    .slice(0, 16);
}

async function ensureTemplate(root: string): Promise<Template> {
  const dir = join(root, await templateKey());
  const template = { dataDir: join(dir, 'data'), tarball: join(dir, 'cluster.tar') };
  if (await exists(join(dir, 'complete'))) return template;
  await mkdir(root, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(staging);
    await initialiseInChild(join(staging, 'data'), join(staging, 'cluster.tar'));
    await writeFile(join(staging, 'complete'), new Date().toISOString());
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // another process may have won the rename: its template is as good as ours
    if (!(await exists(join(dir, 'complete')))) throw err;
  }
  return template;
}

/** Fills a new data directory from the template. */
export async function copyTemplateTo(root: string, dataDir: string): Promise<void> {
  const t = await ensureTemplate(root);
  await cp(t.dataDir, dataDir, { recursive: true });
}

/** The template's cluster as a tar, for an in-memory database (PGlite's loadDataDir). */
export async function templateTarball(root: string): Promise<Blob> {
  const t = await ensureTemplate(root);
  return new Blob([await readFile(t.tarball)]);
}
