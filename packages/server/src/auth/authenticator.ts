import { StrataError } from '@strata/core';
import type { AccountService } from '../services/accounts.js';
import type { Actor } from '../services/actor.js';
import type { ReplayGuard } from './replay-guard.js';
import { restSignedParams } from './rest-signing.js';
import type { SessionStore } from './sessions.js';
import { readSignedRequest, verifySignature, type SignedParams, type VerifyOptions } from './signature.js';

export interface RestRequestParts {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: SignedParams;
  readonly rawBody: string | undefined;
  readonly authorization: string | undefined;
}

/** Largest distance of `expires` into the future the REST API accepts. */
export const MAX_SIGNATURE_VALIDITY_MS = 3600_000;

/**
 * Turns credentials into an Actor. One path for signed requests (shared with the CloudStack API
 * through `authenticateSigned`), one for session tokens.
 */
export class Authenticator {
  /** Recently used keys: saves a database round trip per request; a revocation on another server takes effect within `keyCacheMs`. */
  private readonly keyCache = new Map<
    string,
    { key: Awaited<ReturnType<AccountService['lookupApiKey']>>; until: number }
  >();

  constructor(
    private readonly accounts: AccountService,
    private readonly replay: ReplayGuard,
    private readonly sessions: SessionStore,
    private readonly keyCacheMs = 5_000,
  ) {}

  private async lookupKey(apiKey: string): Promise<Awaited<ReturnType<AccountService['lookupApiKey']>>> {
    const now = Date.now();
    const hit = this.keyCache.get(apiKey);
    if (hit && hit.until > now) return hit.key;
    const key = await this.accounts.lookupApiKey(apiKey);
    if (this.keyCache.size >= 10_000) this.keyCache.clear();
    if (key) this.keyCache.set(apiKey, { key, until: now + this.keyCacheMs });
    return key;
  }

  /** Drops a key from the cache at once (revocation on this server). */
  forgetKey(apiKey: string): void {
    this.keyCache.delete(apiKey);
  }

  /**
   * A request signed CloudStack's way. `params` are exactly the signed parameters (for REST,
   * including the implied ones). Unknown key and bad signature both answer AUTH_BAD_SIGNATURE
   * with no hint which it was.
   */
  async authenticateSigned(
    params: SignedParams,
    options: VerifyOptions & { replayProtection?: boolean } = {},
  ): Promise<Actor> {
    const { apiKey } = readSignedRequest(params);
    const key = await this.lookupKey(apiKey);
    if (!key) throw new StrataError('AUTH_BAD_SIGNATURE', { reason: 'unknown or revoked API key' });
    const verified = verifySignature(params, key.secretKey, options);
    if (options.replayProtection !== false) await this.replay.check(verified.signature, verified.expiresAt);
    return { accountId: key.accountId, userId: key.userId, role: key.role, via: 'api-key', apiKey };
  }

  async authenticateRest(req: RestRequestParts): Promise<Actor> {
    const auth = req.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m?.[1])
        throw new StrataError('AUTH_UNAUTHENTICATED', {
          reason: 'Authorization must be "Bearer <session token>"',
        });
      const p = await this.sessions.resolve(m[1]);
      return { ...p, via: 'session' };
    }
    if (!('signature' in req.query) && !('apiKey' in req.query)) {
      throw new StrataError('AUTH_UNAUTHENTICATED', {
        reason: 'send a signed request (apiKey + signature) or a session token',
      });
    }
    const params = restSignedParams(req.method, req.path, req.query, req.rawBody);
    return this.authenticateSigned(params, {
      requireExpires: true,
      maxValidityMs: MAX_SIGNATURE_VALIDITY_MS,
    });
  }
}
