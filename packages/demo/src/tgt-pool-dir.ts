import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sweepStaleTargets } from '@strata/testing';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The tgt pool directory of one demo environment, kept on the shared XFS reflink mount under
 * `parent` and owned by the environment's root: `<hash>.owner` beside it names the root. The same
 * root (scripts/up.sh run again) finds its pool again.
 */
export async function tgtPoolDir(parent: string, root: string): Promise<string> {
  const owner = resolve(root);
  const name = createHash('sha256').update(owner).digest('hex').slice(0, 16);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  // The owner file first: a sweep in a parallel lane never sees this directory without it.
  await writeFile(join(parent, `${name}.owner`), owner);
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/**
 * Removes the pool directories whose root is gone (a test that ended) with the targets that served
 * their files: tests throw their server away rather than delete every volume through it.
 */
export async function releaseOrphanedTgtPools(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const file of names.filter((n) => n.endsWith('.owner'))) {
    const root = await readFile(join(parent, file), 'utf8').catch(() => null);
    if (root === null || (await exists(root))) continue;
    await rm(join(parent, file.slice(0, -'.owner'.length)), { recursive: true, force: true });
    await rm(join(parent, file), { force: true });
  }
  await sweepStaleTargets();
}
