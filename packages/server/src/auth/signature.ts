import { createHmac, timingSafeEqual } from 'node:crypto';
import { StrataError } from '@strata/core';

/**
 * CloudStack's request signature, as a pure function (DESIGN.md section 2) so the REST API and
 * the CloudStack-compatible API verify one way:
 * parameters (without `signature`) sorted by name, each `name=URL-encoded value`, joined with `&`,
 * the whole string lower-cased, HMAC-SHA1 with the secret key, base64.
 * Version 3 adds `signatureVersion=3` and an ISO 8601 `expires`, both inside the signed string.
 */
export type SignedParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Java's URLEncoder (CloudStack's server) with `+` as `%20`: only A-Z a-z 0-9 - _ . * stay bare. */
export function encodeValue(value: string, keepTilde = false): string {
  return encodeURIComponent(value).replace(/[!'()~]/g, (c) =>
    c === '~' && keepTilde ? c : '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function pairs(params: SignedParams): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || name.toLowerCase() === 'signature') continue;
    for (const v of typeof value === 'string' ? [value] : value) out.push([name, v]);
  }
  return out;
}

function join(list: Array<[string, string]>, keepTilde: boolean): string {
  return list
    .map(([k, v]) => `${k}=${encodeValue(v, keepTilde)}`)
    .join('&')
    .toLowerCase();
}

/** The string that is signed (the canonical form: names sorted case-insensitively, `~` encoded). */
export function canonicalString(params: SignedParams): string {
  return join(sortPairs(pairs(params), true), false);
}

function sortPairs(list: Array<[string, string]>, caseInsensitive: boolean): Array<[string, string]> {
  const key = (k: string) => (caseInsensitive ? k.toLowerCase() : k);
  return [...list].sort(([a, av], [b, bv]) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : av < bv ? -1 : av > bv ? 1 : 0,
  );
}

/**
 * The strings a correct client may have signed. Clients differ only where CloudStack's own
 * description is loose: sort order of mixed-case names, and whether `~` is percent-encoded
 * (Python's quote keeps it, Java's URLEncoder does not).
 */
function candidateStrings(params: SignedParams): string[] {
  const list = pairs(params);
  const out = new Set<string>();
  for (const ci of [true, false])
    for (const tilde of [false, true]) out.add(join(sortPairs(list, ci), tilde));
  return [...out];
}

export function hmacSignature(canonical: string, secret: string): string {
  return createHmac('sha1', secret).update(canonical, 'utf8').digest('base64');
}

/** Signs `params` the canonical way; returns the value for the `signature` parameter. */
export function signParams(params: SignedParams, secret: string): string {
  return hmacSignature(canonicalString(params), secret);
}

/** Finds a parameter by name, ignoring case (CloudStack's names are case-insensitive). */
export function param(params: SignedParams, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(params)) {
    if (k.toLowerCase() === lower) return typeof v === 'string' ? v : v?.[0];
  }
  return undefined;
}

/** Parses CloudStack's `expires` (`2026-11-21T11:50:00+0000` or any ISO 8601 with a zone). */
export function parseExpires(value: string): Date {
  const normal = value.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = /T.*(Z|[+-]\d{2}:\d{2})$/.test(normal) ? Date.parse(normal) : Number.NaN;
  if (Number.isNaN(ms))
    throw new StrataError('AUTH_BAD_SIGNATURE', {
      reason: `expires "${value}" is not an ISO 8601 time with a zone`,
    });
  return new Date(ms);
}

export interface VerifyOptions {
  readonly now?: Date;
  /** Refuse requests without signatureVersion=3 + expires (the REST API does; CloudStack tools may not). */
  readonly requireExpires?: boolean;
  /** Largest accepted distance of `expires` into the future, so remembered signatures stay few. */
  readonly maxValidityMs?: number;
}

export interface VerifiedSignature {
  readonly apiKey: string;
  readonly signature: string;
  /** When the signature stops being valid; null for an unversioned signature. */
  readonly expiresAt: Date | null;
}

/** Reads apiKey and signature; throws AUTH_UNAUTHENTICATED when either is missing. */
export function readSignedRequest(params: SignedParams): { apiKey: string; signature: string } {
  const apiKey = param(params, 'apiKey');
  const signature = param(params, 'signature');
  if (!apiKey || !signature)
    throw new StrataError('AUTH_UNAUTHENTICATED', { reason: 'apiKey and signature are required' });
  return { apiKey, signature };
}

/**
 * Verifies a signed request against the secret of its API key. Throws AUTH_BAD_SIGNATURE,
 * AUTH_SIGNATURE_EXPIRED or AUTH_UNAUTHENTICATED. Replays are a separate check (ReplayGuard):
 * it needs storage, this function needs none.
 */
export function verifySignature(
  params: SignedParams,
  secret: string,
  options: VerifyOptions = {},
): VerifiedSignature {
  const { apiKey, signature } = readSignedRequest(params);
  const now = options.now ?? new Date();
  const version = param(params, 'signatureVersion');
  const expires = param(params, 'expires');
  let expiresAt: Date | null = null;
  if (version === '3' && expires !== undefined) expiresAt = parseExpires(expires);
  else if (options.requireExpires) {
    throw new StrataError('AUTH_BAD_SIGNATURE', { reason: 'signatureVersion=3 and expires are required' });
  }
  const given = decodeSignature(signature);
  const ok = candidateStrings(params).some((s) => {
    const expected = Buffer.from(hmacSignature(s, secret), 'base64');
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!ok)
    throw new StrataError('AUTH_BAD_SIGNATURE', { reason: 'HMAC-SHA1 of the canonical parameters differs' });
  // Checked after the HMAC so an attacker cannot probe expiry rules with unsigned requests.
  if (expiresAt) {
    if (expiresAt.getTime() <= now.getTime())
      throw new StrataError('AUTH_SIGNATURE_EXPIRED', { expires: expiresAt.toISOString() });
    if (options.maxValidityMs !== undefined && expiresAt.getTime() - now.getTime() > options.maxValidityMs) {
      throw new StrataError('AUTH_BAD_SIGNATURE', {
        reason: `expires is more than ${options.maxValidityMs / 1000} s ahead`,
      });
    }
  }
  // The canonical spelling of the verified bytes: the replay guard keys on it, never on the raw text.
  return { apiKey, signature: given.toString('base64'), expiresAt };
}

/** An HMAC-SHA1 is 20 bytes: standard base64 of it is 27 characters and one `=`. */
const CANONICAL_SIGNATURE = /^[A-Za-z0-9+/]{27}=$/;

/**
 * Decodes a signature strictly. Node's base64 decoder skips what it does not know (spaces, a
 * missing or extra `=`, `-_` of base64url, text after the padding), so one signature has many
 * spellings; a replay guard keyed on the text would take each spelling as a new request. Only the
 * one canonical spelling of 20 bytes is accepted.
 */
export function decodeSignature(signature: string): Buffer {
  const bytes = Buffer.from(signature, 'base64');
  if (!CANONICAL_SIGNATURE.test(signature) || bytes.toString('base64') !== signature)
    throw new StrataError('AUTH_BAD_SIGNATURE', {
      reason: 'signature must be the standard base64 of 20 bytes (27 characters and one "=")',
    });
  return bytes;
}
