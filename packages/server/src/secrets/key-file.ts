import { constants } from 'node:fs';
import { lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrataError } from '@strata/core';
import { secretKey, type SecretKey } from './sealed-value.js';

/** 32 bytes, base64url without padding: what the server writes and what an operator may supply. */
const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

const refused = (path: string, reason: string) =>
  new StrataError('SECRETS_KEY_FILE_REFUSED', { path, reason });

const errno = (e: unknown): string =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : String(e);

/**
 * Reads a key file, refusing one that others could read or write: the key opens every stored
 * secret, so a file wider than 0600 is a leak waiting to happen, not a setting to tolerate.
 * Answers null when there is no such file.
 */
export async function readKeyFile(path: string): Promise<SecretKey | null> {
  let info;
  try {
    info = await lstat(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw refused(path, `cannot be read: ${errno(e)}`);
  }
  // A link would be replaced by a file at the next rotation: name the file itself.
  if (info.isSymbolicLink()) throw refused(path, 'is a symbolic link; name the file it points to');
  if (!info.isFile()) throw refused(path, 'is not a regular file');
  const mode = info.mode & 0o777;
  if ((mode & 0o177) !== 0)
    throw refused(path, `its mode is 0${mode.toString(8)}; it must be 0600 or narrower`);
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (e) {
    throw refused(path, `cannot be read: ${errno(e)}`);
  }
  if (!KEY_TEXT.test(text)) throw refused(path, 'does not hold a key (43 base64url characters)');
  return secretKey(Buffer.from(text, 'base64url'));
}

async function syncDir(path: string): Promise<void> {
  const dir = await open(dirname(path), constants.O_RDONLY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Writes a new key file, mode 0600, durably (file and directory synced). Fails with EEXIST when the
 * file exists: a key on disk is never overwritten, so no sealed value can lose its key this way.
 */
export async function createKeyFile(path: string, key: SecretKey): Promise<void> {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await file.writeFile(`${key.bytes.toString('base64url')}\n`);
    await file.chmod(0o600); // the umask may have narrowed the mode; it never widens it
    await file.sync();
  } finally {
    await file.close();
  }
  await syncDir(path);
}

/** Atomically puts the file `from` in place of `to`. */
export async function replace(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(to);
}

export async function removeKeyFile(path: string): Promise<void> {
  await unlink(path).catch((e: unknown) => {
    if (errno(e) !== 'ENOENT') throw e;
  });
}

export { errno };
