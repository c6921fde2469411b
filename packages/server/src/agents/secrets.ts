import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Registration tokens and host secrets are 32 random bytes: far too much entropy to guess, so a
 * plain SHA-256 (not a slow password hash) is the right thing to store, and it makes the lookup
 * by hash possible.
 */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret against a stored hash. */
export function secretMatches(secret: string, storedHash: string | null): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
