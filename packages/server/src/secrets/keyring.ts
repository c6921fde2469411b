import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StrataError, isStrataError } from '@strata/core';
import { createKeyFile, errno, readKeyFile, removeKeyFile, replace } from './key-file.js';
import { newSecretKey, type SecretKey } from './sealed-value.js';

/**
 * The at-rest keys on disk, named after the configured key file `K`:
 *
 * - `K`: the current key; it seals every new value and opens values it sealed;
 * - `K.<id>.retired`: a key a rotation replaced, kept until no stored value is sealed with it;
 * - `K.<id>.next`: a key a rotation is about to make current.
 *
 * Rotation only adds files before it renames one over `K`, and removes a retired one only once
 * nothing in the database is sealed with it: at every moment, including after a crash, every
 * stored value is openable by a key present here.
 */
export class Keyring {
  #current: SecretKey;
  readonly #keys = new Map<string, SecretKey>();

  private constructor(
    readonly path: string,
    current: SecretKey,
  ) {
    this.#current = current;
    this.#keys.set(current.id, current);
  }

  /** Loads `path` and its retired and next keys; creates `path` with a new key when absent. */
  static async load(path: string): Promise<Keyring> {
    const ring = new Keyring(path, await readOrCreate(path));
    await ring.reload();
    return ring;
  }

  get current(): SecretKey {
    return this.#current;
  }

  key(id: string): SecretKey | undefined {
    return this.#keys.get(id);
  }

  ids(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * Reads the files again: another server sharing the file may have rotated. Keys read before are
   * kept in memory (they only open values); the current key is whatever `K` holds now.
   */
  async reload(): Promise<void> {
    const current = await readKeyFile(this.path);
    if (!current) throw new StrataError('SECRETS_KEY_FILE_REFUSED', { path: this.path, reason: 'is gone' });
    this.#current = current;
    this.#keys.set(current.id, current);
    // A `.next` key has sealed nothing (only `K` seals), and may be half written: not read.
    for (const file of await this.sideFiles()) {
      if (file.kind !== 'retired') continue;
      const key = await readKeyFile(file.path);
      if (key) this.#keys.set(key.id, key);
    }
  }

  /**
   * Makes a new key current: written as `K.<new>.next`, the current key copied to
   * `K.<old>.retired`, then `.next` renamed over `K` (so `K` must be a regular file in a directory
   * the server may write, not a link). Answers the key it replaced.
   */
  async promoteNewKey(): Promise<SecretKey> {
    const previous = this.#current;
    const next = newSecretKey();
    const nextPath = `${this.path}.${next.id}.next`;
    await createKeyFile(nextPath, next);
    this.#keys.set(next.id, next);
    await this.retire(previous);
    await replace(nextPath, this.path);
    this.#current = next;
    return previous;
  }

  /** Removes the retired and next files whose keys are neither current nor in `inUse`; answers their ids. */
  async dropUnused(inUse: ReadonlySet<string>): Promise<string[]> {
    const dropped: string[] = [];
    for (const file of await this.sideFiles()) {
      if (file.id === this.#current.id || inUse.has(file.id)) continue;
      await removeKeyFile(file.path);
      this.#keys.delete(file.id);
      dropped.push(file.id);
    }
    return dropped;
  }

  /** The retired and next files beside `K` (the id is taken from the name; the content is checked on read). */
  async sideFiles(): Promise<Array<{ path: string; id: string; kind: 'retired' | 'next' }>> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    const names = await readdir(dir).catch((e: unknown) => {
      throw new StrataError('SECRETS_KEY_FILE_REFUSED', {
        path: this.path,
        reason: `its directory cannot be listed: ${errno(e)}`,
      });
    });
    const out: Array<{ path: string; id: string; kind: 'retired' | 'next' }> = [];
    for (const name of names) {
      if (!name.startsWith(`${base}.`)) continue;
      const m = /^([A-Za-z0-9_-]{11})\.(retired|next)$/.exec(name.slice(base.length + 1));
      if (m?.[1] && m[2]) out.push({ path: join(dir, name), id: m[1], kind: m[2] as 'retired' | 'next' });
    }
    return out;
  }

  /** Writes `key` as `K.<id>.retired` (a copy, not a link: any filesystem will do); one already there must hold it. */
  private async retire(key: SecretKey): Promise<void> {
    const path = `${this.path}.${key.id}.retired`;
    try {
      await createKeyFile(path, key);
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
      if ((await readKeyFile(path))?.id !== key.id)
        throw new StrataError('SECRETS_KEY_FILE_REFUSED', { path, reason: `does not hold key ${key.id}` });
    }
  }
}

async function readOrCreate(path: string): Promise<SecretKey> {
  const existing = await readKeyFile(path);
  if (existing) return existing;
  try {
    await createKeyFile(path, newSecretKey());
  } catch (e) {
    if (errno(e) !== 'EEXIST')
      throw new StrataError('SECRETS_KEY_FILE_REFUSED', { path, reason: `cannot be created: ${errno(e)}` });
    // Another server sharing the file is creating it: give it a moment to finish writing.
    return readWritten(path, 20);
  }
  return readWritten(path, 0);
}

/** Reads a key file just created, waiting (`retries` times 50 ms) while it is still empty or partial. */
async function readWritten(path: string, retries: number): Promise<SecretKey> {
  for (let i = 0; ; i++) {
    const key = await readKeyFile(path).catch((e: unknown) => {
      const partial = isStrataError(e, 'SECRETS_KEY_FILE_REFUSED') && /does not hold a key/.test(e.message);
      if (!partial || i >= retries) throw e;
      return undefined;
    });
    if (key) return key;
    if (key === null)
      throw new StrataError('SECRETS_KEY_FILE_REFUSED', { path, reason: 'vanished after creation' });
    await new Promise((r) => setTimeout(r, 50));
  }
}
