import { mkdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A cross-process lock (mkdir is atomic): test files run in parallel processes and must not both
 * format the pool or start tgtd. A lock older than `staleMs` is taken over (its holder died).
 */
export async function withDirLock<T>(path: string, fn: () => Promise<T>, staleMs = 120_000): Promise<T> {
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch {
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > staleMs) await rm(path, { recursive: true, force: true });
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
