import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { decodeSignature } from './signature.js';

/**
 * Refuses a signature seen before, until it expires (after that it is refused as expired).
 * Shared by every management server through the database, so a replay to another server fails too.
 */
export class ReplayGuard {
  private lastPrune = 0;

  constructor(
    private readonly db: Queryable,
    /** How long to remember signatures that carry no expiry (unversioned CloudStack requests). */
    private readonly defaultTtlMs = 15 * 60_000,
  ) {}

  /** Keyed on the signature's bytes (re-encoded canonically): a re-spelled signature is the same one. */
  async check(signature: string, expiresAt: Date | null, now = new Date()): Promise<void> {
    const key = decodeSignature(signature).toString('base64');
    const until = expiresAt ?? new Date(now.getTime() + this.defaultTtlMs);
    const rows = await this.db.query(
      `INSERT INTO seen_signatures (signature, expires_at) VALUES ($1, $2)
       ON CONFLICT (signature) DO NOTHING RETURNING signature`,
      [key, until.toISOString()],
    );
    if (rows.length === 0) throw new StrataError('AUTH_REPLAYED');
    if (now.getTime() - this.lastPrune > 60_000) {
      this.lastPrune = now.getTime();
      await this.prune(now);
    }
  }

  /** Forgets signatures that have expired: they can no longer pass verification anyway. */
  async prune(now = new Date()): Promise<number> {
    const rows = await this.db.query(
      'DELETE FROM seen_signatures WHERE expires_at < $1 RETURNING signature',
      [now.toISOString()],
    );
    return rows.length;
  }
}
