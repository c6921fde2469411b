import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Qos } from '@strata/core';

/** What the driver keeps beside each backing file; tgtd and this file together are its whole state. */
export interface VolumeMeta {
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly qos: Qos | null;
  readonly hypervisorSnapshotReserve: number;
  /** Where the content came from: the idempotency check for clones. */
  readonly source:
    { readonly kind: 'empty' } | { readonly kind: 'snapshot' | 'template'; readonly id: string };
  /** Initiator names granted, by host id: re-bound after a tgtd restart. */
  readonly grants: Readonly<Record<string, string>>;
  readonly createdAt: string;
}

export interface SnapshotMeta {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly vmSnapshotId: string | null;
  readonly createdAt: string;
}

/**
 * The pool directory: `volumes/<id>.raw` + `<id>.json`, `snapshots/<id>.raw` + `<id>.json`,
 * `templates/<id>.raw`. A JSON file is written after its raw file, by rename, so it is the
 * commit point: a raw file without its JSON is a leftover a replay overwrites.
 */
export class PoolStore {
  constructor(readonly root: string) {}

  volumeRaw(id: string): string {
    return join(this.root, 'volumes', `${id}.raw`);
  }
  snapshotRaw(id: string): string {
    return join(this.root, 'snapshots', `${id}.raw`);
  }
  templateRaw(id: string): string {
    return join(this.root, 'templates', `${id}.raw`);
  }

  async init(): Promise<void> {
    for (const d of ['volumes', 'snapshots', 'templates'])
      await mkdir(join(this.root, d), { recursive: true });
  }

  /** Removes `.tmp` files a crash left mid-copy: nothing refers to them (no JSON commits them). */
  async removeLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    for (const d of ['volumes', 'snapshots', 'templates']) {
      for (const n of await readdir(join(this.root, d))) {
        if (!n.endsWith('.tmp')) continue;
        await rm(join(this.root, d, n), { force: true });
        removed.push(join(d, n));
      }
    }
    return removed;
  }

  async #readJson<T>(path: string): Promise<T | null> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async #writeJson(path: string, value: unknown): Promise<void> {
    const tmp = `${path}.tmp`;
    await writeFile(tmp, JSON.stringify(value, null, 2));
    await rename(tmp, path);
  }

  getVolume(id: string): Promise<VolumeMeta | null> {
    return this.#readJson<VolumeMeta>(join(this.root, 'volumes', `${id}.json`));
  }
  putVolume(meta: VolumeMeta): Promise<void> {
    return this.#writeJson(join(this.root, 'volumes', `${meta.volumeId}.json`), meta);
  }
  async removeVolume(id: string): Promise<void> {
    await rm(join(this.root, 'volumes', `${id}.json`), { force: true });
    await rm(this.volumeRaw(id), { force: true });
  }

  getSnapshot(id: string): Promise<SnapshotMeta | null> {
    return this.#readJson<SnapshotMeta>(join(this.root, 'snapshots', `${id}.json`));
  }
  putSnapshot(meta: SnapshotMeta): Promise<void> {
    return this.#writeJson(join(this.root, 'snapshots', `${meta.snapshotId}.json`), meta);
  }
  async removeSnapshot(id: string): Promise<void> {
    await rm(join(this.root, 'snapshots', `${id}.json`), { force: true });
    await rm(this.snapshotRaw(id), { force: true });
  }

  async #list<T>(dir: string): Promise<T[]> {
    const names = (await readdir(join(this.root, dir))).filter((n) => n.endsWith('.json'));
    const out: T[] = [];
    for (const n of names) {
      const v = await this.#readJson<T>(join(this.root, dir, n));
      if (v) out.push(v);
    }
    return out;
  }
  listVolumes(): Promise<VolumeMeta[]> {
    return this.#list<VolumeMeta>('volumes');
  }
  listSnapshots(): Promise<SnapshotMeta[]> {
    return this.#list<SnapshotMeta>('snapshots');
  }

  /** Bytes the filesystem really holds for a file (thin: less than its size). */
  async allocated(path: string): Promise<number> {
    const st = await stat(path).catch(() => null);
    return st ? st.blocks * 512 : 0;
  }
}
