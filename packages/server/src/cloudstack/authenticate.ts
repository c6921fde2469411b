import { StrataError, type Role } from '@strata/core';
import { verifySignature } from '../auth/signature.js';
import type { Authenticate } from './deps.js';

export interface KeyLookup {
  /** The secret and principal of a live API key, or null (AccountService.lookupApiKey). */
  lookupApiKey(apiKey: string): Promise<{ secretKey: string; userId: string; accountId: string; role: Role } | null>;
}

export interface CloudStackAuthOptions {
  /** Largest accepted distance of `expires` into the future (default one day). */
  readonly maxValidityMs?: number;
}

/**
 * CloudStack's authentication: signature v1, or v3 with `expires`, verified by the shared pure
 * function in auth/signature.ts. No replay memory here, as in CloudStack: its clients (cs,
 * CloudMonkey) put a one-second `expires` in the signed string, so two polls of one job within
 * a second are identical requests. v3's expiry bounds how long a captured request stays usable.
 */
export function cloudStackAuthenticator(keys: KeyLookup, options: CloudStackAuthOptions = {}): Authenticate {
  return async (params) => {
    const apiKey = Object.entries(params).find(([k]) => k.toLowerCase() === 'apikey')?.[1];
    if (!apiKey) throw new StrataError('AUTH_UNAUTHENTICATED', { reason: 'apiKey and signature are required' });
    const principal = await keys.lookupApiKey(apiKey);
    if (!principal) throw new StrataError('AUTH_UNAUTHENTICATED', { reason: 'unknown API key' });
    verifySignature(params, principal.secretKey, { maxValidityMs: options.maxValidityMs ?? 24 * 3600_000 });
    return { accountId: principal.accountId, userId: principal.userId, role: principal.role };
  };
}
