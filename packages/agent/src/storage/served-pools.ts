import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PoolDriverSettings } from './driver-factories.js';

/**
 * The pools a storage node has served, by id, kept in its state directory (mode 0600: a pool's
 * details may hold its CHAP key). A restarted agent builds their drivers at once from it, so a
 * driver's own upkeep (the tgt driver re-making the targets a restarted tgtd lost) runs before
 * the server's next call, which may be long in coming.
 */
export class ServedPools {
  constructor(private readonly path: string) {}

  async read(): Promise<Record<string, PoolDriverSettings>> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as Record<string, PoolDriverSettings>;
    } catch {
      // none yet, or unreadable: the server's next call builds the driver anyway
      return {};
    }
  }

  async write(pools: Readonly<Record<string, PoolDriverSettings>>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // a name of its own: two writers never rename each other's half-written file
    const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(pools), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
