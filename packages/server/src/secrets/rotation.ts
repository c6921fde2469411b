import { StrataError, isStrataError } from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import { errno } from './key-file.js';
import { SEALING_LOCK, type SecretBox } from './secret-box.js';
import { keyUsage, resealStored, type Resealed } from './stored-secrets.js';

export interface SealPassResult {
  readonly keyId: string;
  readonly resealed: Resealed;
  /** Retired (or never promoted) keys whose files were removed: nothing is sealed with them any more. */
  readonly removedKeyIds: readonly string[];
}

export interface RotationResult extends SealPassResult {
  readonly previousKeyId: string;
}

async function exclusive(tx: Queryable, box: SecretBox): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [SEALING_LOCK]);
  await box.keyring.reload();
}

/**
 * After the database committed: removes the key files nothing is sealed with any more. Under the
 * lock, so no write seals meanwhile; a crash before it only leaves a file for the next pass.
 */
async function dropUnusedKeys(db: Database, box: SecretBox): Promise<string[]> {
  // The usual start: no retired or next file, nothing to count.
  if ((await box.keyring.sideFiles()).length === 0) return [];
  return db.transaction(async (tx) => {
    await exclusive(tx, box);
    const usage = await keyUsage(tx);
    return box.keyring.dropUnused(new Set(usage.sealedWith.keys()));
  });
}

/**
 * The start-up pass: seals every plain value (an old database) and every value sealed with a key
 * other than the current one (a rotation a crash interrupted), then removes unused key files.
 * A value sealed with a key no file holds stops the start with SECRETS_KEY_UNKNOWN.
 */
export async function sealStoredSecrets(db: Database, box: SecretBox): Promise<SealPassResult> {
  const resealed = await db.transaction(async (tx) => {
    await exclusive(tx, box);
    return resealStored(tx, box);
  });
  return { keyId: box.keyring.current.id, resealed, removedKeyIds: await dropUnusedKeys(db, box) };
}

/**
 * Rotates the at-rest key: a new key becomes current (the old one kept as a retired file), every
 * stored secret is sealed again with it in one transaction, and once that committed the retired
 * file is removed. A crash at any step leaves every value openable by a file present; the next
 * start (or rotation) finishes the job.
 */
export async function rotateSecretsKey(db: Database, box: SecretBox): Promise<RotationResult> {
  const done = await db.transaction(async (tx) => {
    await exclusive(tx, box);
    const previous = await box.keyring.promoteNewKey().catch((e: unknown) => {
      if (isStrataError(e)) throw e;
      throw new StrataError('SECRETS_KEY_FILE_REFUSED', {
        path: box.keyring.path,
        reason: `a new key cannot be written beside it: ${errno(e)}`,
      });
    });
    return { previousKeyId: previous.id, resealed: await resealStored(tx, box) };
  });
  return { keyId: box.keyring.current.id, ...done, removedKeyIds: await dropUnusedKeys(db, box) };
}
