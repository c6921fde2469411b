import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDirLock } from './lock.js';
import { run } from './run.js';

export const TEST_ROOT = '/var/lib/strata-test';

export interface ReflinkPool {
  /** Where the XFS (reflink=1) filesystem is mounted. */
  readonly mountPoint: string;
  readonly imagePath: string;
}

async function isMounted(mountPoint: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  // /proc/self/mounts escapes spaces as \040; our paths have none.
  return mounts.split('\n').some((line) => line.split(' ')[1] === mountPoint);
}

/**
 * Makes (once) and mounts (once) an XFS filesystem with reflink on a sparse loop file, and
 * reuses it across test files and runs. Idempotent and safe to call from parallel processes.
 */
export async function ensureReflinkPool(
  options: { name?: string; sizeBytes?: number } = {},
): Promise<ReflinkPool> {
  const name = options.name ?? 'tgt';
  const sizeBytes = options.sizeBytes ?? 256 * 1024 ** 3;
  await mkdir(TEST_ROOT, { recursive: true });
  const imagePath = join(TEST_ROOT, `${name}-xfs.img`);
  const mountPoint = join(TEST_ROOT, `${name}-xfs`);
  if (await isMounted(mountPoint)) return { mountPoint, imagePath };
  return withDirLock(join(TEST_ROOT, `.${name}-xfs.lock`), async () => {
    if (await isMounted(mountPoint)) return { mountPoint, imagePath };
    await mkdir(mountPoint, { recursive: true });
    const fh = await open(imagePath, 'a');
    const { size } = await fh.stat();
    if (size === 0) await fh.truncate(sizeBytes);
    await fh.close();
    const probe = await run('blkid', ['-o', 'value', '-s', 'TYPE', imagePath]).catch(() => ({ stdout: '' }));
    if (probe.stdout.trim() !== 'xfs') await run('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', imagePath]);
    await run('mount', ['-o', 'loop', imagePath, mountPoint]);
    return { mountPoint, imagePath };
  });
}
