import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { StrataError } from '@strata/core';

/** One at-rest key: 32 bytes for AES-256, and the id stored with every value it seals. */
export interface SecretKey {
  readonly id: string;
  readonly bytes: Buffer;
}

const PREFIX = 'enc:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The id is derived from the key, so a key file needs no id of its own and two files holding the
 * same key agree on it. 8 bytes of a domain-separated hash: says nothing useful about the key.
 */
export function keyIdOf(bytes: Buffer): string {
  return createHash('sha256')
    .update('strata secrets key id\0')
    .update(bytes)
    .digest()
    .subarray(0, 8)
    .toString('base64url');
}

export function secretKey(bytes: Buffer): SecretKey {
  return { id: keyIdOf(bytes), bytes };
}

export function newSecretKey(): SecretKey {
  return secretKey(randomBytes(32));
}

/** Values written before sealing existed are plain; every value Strata writes now is sealed. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The id of the key that sealed `stored`, or null for a plain (old) value. */
export function sealedKeyId(stored: string): string | null {
  if (!isSealed(stored)) return null;
  return stored.slice(PREFIX.length).split(':')[0] ?? '';
}

/**
 * `enc:v1:<keyId>:<nonce>:<ciphertext+tag>`, base64url parts. AES-256-GCM with a random nonce per
 * value; `context` (which row and field the value belongs to) is authenticated, so a sealed value
 * copied into another row or field does not open there.
 */
export function sealWith(key: SecretKey, plain: string, context: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${key.id}:${nonce.toString('base64url')}:${body.toString('base64url')}`;
}

/** Opens a value sealed with `key` (the caller picked it by sealedKeyId). */
export function openWith(key: SecretKey, stored: string, context: string): string {
  const refuse = (reason: string) => new StrataError('SECRETS_OPEN_FAILED', { where: context, reason });
  const [keyId, nonceText, bodyText, ...rest] = stored.slice(PREFIX.length).split(':');
  if (!isSealed(stored) || keyId !== key.id || !nonceText || !bodyText || rest.length > 0)
    throw refuse('not a value sealed with this key');
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw refuse('malformed sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key.bytes, nonce);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw refuse('authentication failed (altered, or sealed for another row or field)');
  }
}
