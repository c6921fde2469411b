import { StrataError } from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import type { Keyring } from './keyring.js';
import { isSealed, openWith, sealWith, sealedKeyId, type SecretKey } from './sealed-value.js';

/** Seals one value for one place (`context`, see contexts.ts) with the key current in this transaction. */
export type Sealer = (plain: string, context: string) => string;

/**
 * Fixed key of the advisory lock between sealing and rotation: a write that seals holds it shared
 * for its transaction, a rotation holds it exclusively. So no value is sealed with a key a
 * rotation has already replaced and resealed past.
 */
export const SEALING_LOCK = 5_170_021;

/**
 * The one way in and out of stored secrets: every write seals through `sealerIn`/`sealing`, every
 * read that needs the clear value goes through `open`. The key stays in the server's key file,
 * never in the database (docs/security.md, "Secrets at rest").
 */
export class SecretBox {
  constructor(readonly keyring: Keyring) {}

  /**
   * In `tx`: takes the sealing lock shared and reads the key file again (another server sharing it
   * may have rotated), then answers a sealer with the current key.
   */
  async sealerIn(tx: Queryable): Promise<Sealer> {
    await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [SEALING_LOCK]);
    await this.keyring.reload();
    return this.sealerWith(this.keyring.current);
  }

  /** Runs `fn` in a transaction with a sealer (see sealerIn). */
  sealing<T>(db: Database, fn: (tx: Queryable, seal: Sealer) => Promise<T>): Promise<T> {
    return db.transaction(async (tx) => fn(tx, await this.sealerIn(tx)));
  }

  /** A sealer with `key`, for the holder of the exclusive lock (rotation, the start-up pass). */
  sealerWith(key: SecretKey): Sealer {
    return (plain, context) => sealWith(key, plain, context);
  }

  /**
   * The clear value of a stored secret. A plain value (written before sealing existed) is answered
   * as it is until the start-up pass seals it; a key this server has not read is looked for in the
   * key files once (another server sharing them rotated).
   */
  async open(stored: string, context: string): Promise<string> {
    const id = sealedKeyId(stored);
    if (id === null) return stored;
    if (!this.keyring.key(id)) await this.keyring.reload();
    const key = this.keyring.key(id);
    if (!key)
      throw new StrataError('SECRETS_KEY_UNKNOWN', { where: context, keyId: id, path: this.keyring.path });
    return openWith(key, stored, context);
  }

  /** Whether `stored` is what the current key would have written (sealed, with that key). */
  isCurrent(stored: string): boolean {
    return isSealed(stored) && sealedKeyId(stored) === this.keyring.current.id;
  }
}
