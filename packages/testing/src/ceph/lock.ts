import { open, readFile, rm, stat } from 'node:fs/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A file lock between test processes (several engineers run tests at once). A lock whose owner
 * died, or that is older than `staleMs`, is taken over.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  waitMs = 180_000,
  staleMs = 300_000,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      const age =
        Date.now() -
        (await stat(path)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if ((owner > 0 && !alive(owner)) || age > staleMs) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${path} held by pid ${owner} for too long`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

export { alive as processAlive };
