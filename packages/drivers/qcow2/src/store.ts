import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Qos } from '@strata/core';

export interface Qcow2VolumeMeta {
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly qos: Qos | null;
  readonly hypervisorSnapshotReserve: number;
  readonly source:
    { readonly kind: 'empty' } | { readonly kind: 'snapshot' | 'template'; readonly id: string };
  /** Hosts granted (kept for the contract's idempotency answers; the mount itself is shared). */
  readonly grants: readonly string[];
  readonly createdAt: string;
}

/** Which volume holds an internal snapshot: snapshot ids are unique per pool, not per file. */
export interface Qcow2SnapshotIndex {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly createdAt: string;
}

/**
 * The pool directory: `<id>.qcow2` with `<id>.json` beside it (written last, by rename: the commit
 * point), and `snapshots/<id>.json` naming the volume that holds each internal snapshot.
 */
export class Qcow2Store {
  constructor(readonly root: string) {}

  image(id: string): string {
    return join(this.root, `${id}.qcow2`);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'snapshots'), { recursive: true });
  }

  async #read<T>(path: string): Promise<T | null> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async #write(path: string, value: unknown): Promise<void> {
    await writeFile(`${path}.tmp`, JSON.stringify(value, null, 2));
    await rename(`${path}.tmp`, path);
  }

  getVolume(id: string): Promise<Qcow2VolumeMeta | null> {
    return this.#read(join(this.root, `${id}.json`));
  }
  putVolume(m: Qcow2VolumeMeta): Promise<void> {
    return this.#write(join(this.root, `${m.volumeId}.json`), m);
  }
  /**
   * Removes the volume's files: its image, its metadata, and the layers VM snapshots and reverts
   * put over it (`<id>.<anything>.qcow2`; ids hold no dot, so no other volume's file matches).
   */
  async removeVolume(id: string): Promise<void> {
    await rm(join(this.root, `${id}.json`), { force: true });
    await rm(this.image(id), { force: true });
    for (const name of await readdir(this.root))
      if (name.startsWith(`${id}.`) && name.endsWith('.qcow2'))
        await rm(join(this.root, name), { force: true });
  }
  async listVolumes(): Promise<Qcow2VolumeMeta[]> {
    const out: Qcow2VolumeMeta[] = [];
    for (const n of (await readdir(this.root)).filter((x) => x.endsWith('.json'))) {
      const m = await this.#read<Qcow2VolumeMeta>(join(this.root, n));
      if (m) out.push(m);
    }
    return out;
  }

  getSnapshot(id: string): Promise<Qcow2SnapshotIndex | null> {
    return this.#read(join(this.root, 'snapshots', `${id}.json`));
  }
  putSnapshot(s: Qcow2SnapshotIndex): Promise<void> {
    return this.#write(join(this.root, 'snapshots', `${s.snapshotId}.json`), s);
  }
  removeSnapshot(id: string): Promise<void> {
    return rm(join(this.root, 'snapshots', `${id}.json`), { force: true });
  }
  async listSnapshots(): Promise<Qcow2SnapshotIndex[]> {
    const dir = join(this.root, 'snapshots');
    const out: Qcow2SnapshotIndex[] = [];
    for (const n of (await readdir(dir)).filter((x) => x.endsWith('.json'))) {
      const s = await this.#read<Qcow2SnapshotIndex>(join(dir, n));
      if (s) out.push(s);
    }
    return out;
  }

  async allocated(path: string): Promise<number> {
    const st = await stat(path).catch(() => null);
    return st ? st.blocks * 512 : 0;
  }
}
